<?cs # A handler list row's sparkline (h: the row; page_charts.c). The SVG is printed raw: charts.c escapes every text in it. ?>
<?cs if:h.Spark ?><div class="spark-wrap"><?cs uvar:h.Spark ?><span class="spark-text"><?cs var:h.SparkText ?></span></div><?cs /if ?>
