<?cs # The handler form's charts (page_charts.c). The SVGs are printed raw: charts.c escapes every text in them. ?>
<?cs if:Form.Mode == "edit" && (?HandlerCharts.0.Key || HandlerCharts.Error) ?>
<section class="card charts" id="handler-charts" aria-labelledby="charts-heading">
  <h2 class="first" id="charts-heading">Activity</h2>
  <p class="hint">Hourly counts of this handler's executions (UTC), from the execution roll-ups; durations are estimated from their histogram buckets.</p>
  <?cs if:HandlerCharts.Error ?><p class="alert alert-error" role="alert"><?cs var:HandlerCharts.Error ?></p><?cs /if ?>
  <div class="chart-pair">
  <?cs each:c = HandlerCharts ?><?cs if:c.Key ?>
    <figure class="chart-panel" id="chart-<?cs var:c.Key ?>">
      <figcaption><strong><?cs var:c.Title ?></strong>
        <span class="chart-summary" id="chart-<?cs var:c.Key ?>-summary"><?cs var:c.Summary ?></span></figcaption>
      <div class="chart-name">Success rate</div>
      <div class="chart-frame"><span class="y-top">100%</span><span class="y-bottom">0%</span><?cs uvar:c.RateSvg ?></div>
      <div class="chart-name">Duration <span class="key key-p50">p50</span> <span class="key key-p95">p95</span></div>
      <div class="chart-frame"><span class="y-top"><?cs var:c.DurationTop ?></span><span class="y-bottom">0</span><?cs uvar:c.DurationSvg ?></div>
      <div class="x-axis"><span><?cs var:c.From ?></span><span><?cs var:c.To ?> UTC</span></div>
    </figure>
  <?cs /if ?><?cs /each ?>
  </div>
</section>
<?cs /if ?>
