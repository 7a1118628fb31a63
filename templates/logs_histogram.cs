<?cs # The Execution Logs' histogram (page_charts.c). The SVG is printed raw: charts.c escapes every text in it. ?>
<?cs if:Histogram.Error ?><p class="alert alert-error" role="alert" id="histogram-error"><?cs var:Histogram.Error ?></p>
<?cs elif:Histogram.Bars > 0 ?>
<figure class="chart-panel histogram-panel" id="histogram">
  <figcaption><span class="chart-summary" id="histogram-summary"><?cs var:Histogram.Summary ?></span>
    <span class="key key-ok">succeeded</span> <span class="key key-fail">failed</span>
    <span class="hint" id="histogram-note">Click a bar to narrow the dates.<?cs if:Histogram.TextIgnored ?> The bars count by handler, event, status and time only: the text filter applies to the table, not to them.<?cs /if ?></span></figcaption>
  <div class="chart-frame chart-tall"><span class="y-top"><?cs var:Histogram.Top ?></span><span class="y-bottom">0</span><?cs uvar:Histogram.Svg ?></div>
  <div class="x-axis"><span><?cs var:Histogram.From ?></span><span><?cs var:Histogram.To ?> UTC</span></div>
</figure>
<?cs /if ?>
