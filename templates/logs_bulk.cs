<?cs include:"header.cs" ?>
<section class="card narrow-wide" id="bulk-progress" data-state="<?cs var:Bulk.State ?>">
  <div class="card-head">
    <h1>Bulk redelivery #<?cs var:Bulk.Id ?></h1>
    <span class="status <?cs if:Bulk.State == "done" ?>status-enabled<?cs else ?>status-archived<?cs /if ?>" id="bulk-state"><?cs if:Bulk.State == "selecting" ?>selecting executions<?cs elif:Bulk.State == "running" ?>running<?cs else ?>done<?cs /if ?></span>
  </div>
  <?cs if:Bulk.Existing ?><p class="alert alert-info" role="status" id="bulk-existing">The same redelivery was already asked for and is not finished: this is its progress. Nothing was queued twice.</p><?cs /if ?>
  <?cs if:Bulk.State != "done" ?><p class="hint">The retry worker (<code>prov-worker</code>) runs it in the background; this page reloads every few seconds.</p><?cs /if ?>
  <progress id="bulk-bar" max="<?cs if:Bulk.Total > 0 ?><?cs var:Bulk.Total ?><?cs else ?>1<?cs /if ?>" value="<?cs var:Bulk.Done ?>" aria-label="Executions done"><?cs var:Bulk.Percent ?>%</progress>
  <dl class="facts">
    <dt>Asked</dt><dd><?cs var:Bulk.CreatedAt ?> UTC by <?cs var:Bulk.RequestedBy ?>: <span id="bulk-expected"><?cs var:Bulk.Expected ?></span> execution<?cs if:Bulk.Expected != 1 ?>s<?cs /if ?></dd>
    <dt>Selection</dt><dd><?cs if:Bulk.HandlerId ?>handler #<?cs var:Bulk.HandlerId ?><?cs else ?>all handlers<?cs /if ?><?cs if:Bulk.Event ?>, <?cs var:Bulk.Event ?><?cs /if ?>, since <?cs var:Bulk.Since ?> UTC<?cs if:Bulk.Until ?> until <?cs var:Bulk.Until ?> UTC<?cs /if ?></dd>
    <dt>Total</dt><dd id="bulk-total"><?cs var:Bulk.Total ?></dd>
    <dt>Done</dt><dd id="bulk-done"><?cs var:Bulk.Done ?> (<?cs var:Bulk.Percent ?>%)</dd>
    <dt>Delivered</dt><dd id="bulk-delivered"><?cs var:Bulk.Delivered ?></dd>
    <dt>Failed again</dt><dd id="bulk-failed"><?cs if:Bulk.Failed > 0 ?><span class="status status-failed"><?cs var:Bulk.Failed ?></span><?cs else ?>0<?cs /if ?></dd>
    <dt>Waiting</dt><dd id="bulk-waiting"><?cs var:Bulk.Waiting ?></dd>
    <?cs if:Bulk.Skipped > 0 ?><dt>Skipped</dt><dd id="bulk-skipped"><?cs var:Bulk.Skipped ?> already queued by another pending request</dd><?cs /if ?>
    <?cs if:Bulk.FinishedAt ?><dt>Finished</dt><dd><?cs var:Bulk.FinishedAt ?> UTC</dd><?cs /if ?>
  </dl>
  <?cs if:Bulk.Failed > 0 ?>
  <h2>Failed again</h2>
  <div class="table-scroll">
  <table class="grid labelled" id="bulk-failures">
    <thead><tr><th class="num">Execution</th><th class="num">Redelivery</th><th>Error</th></tr></thead>
    <tbody>
    <?cs each:f = Bulk.Failures ?>
      <tr><td class="num" data-label="Execution"><a href="/logs/<?cs var:url_escape(f.LogId) ?>">#<?cs var:f.LogId ?></a></td><td class="num" data-label="Redelivery"><?cs if:f.NewLogId ?><a href="/logs/<?cs var:url_escape(f.NewLogId) ?>">#<?cs var:f.NewLogId ?></a><?cs else ?><span class="muted">none</span><?cs /if ?></td><td data-label="Error"><code><?cs var:f.Error ?></code></td></tr>
    <?cs /each ?>
    </tbody>
  </table>
  </div>
  <?cs /if ?>
  <p class="form-actions"><a class="btn" href="/logs/bulk/<?cs var:Bulk.Id ?>" id="bulk-reload">Reload</a> <a class="btn" href="/logs?status=fail<?cs if:Bulk.HandlerId ?>&amp;handler=<?cs var:url_escape(Bulk.HandlerId) ?><?cs /if ?>" id="bulk-logs">Execution Logs</a></p>
</section>
<?cs include:"footer.cs" ?>
