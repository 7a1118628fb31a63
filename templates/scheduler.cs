<?cs include:"header.cs" ?>
<?cs include:"scheduler_health.cs" ?>
<section class="card">
  <div class="card-head">
    <h1>Task Scheduler</h1>
    <span class="count"><?cs var:ServiceCount ?> service<?cs if:ServiceCount != 1 ?>s<?cs /if ?></span>
  </div>
  <?cs if:Flash.Published ?><p class="alert alert-info" role="status" id="flash">Cache Manager restarted: generation <?cs var:Flash.Published ?> is now published; dispatchers run it from their next event.</p><?cs /if ?>
  <?cs if:Flash.Failed ?><p class="alert alert-error" role="alert" id="flash">The Cache Manager could not publish the handlers; see its last result below.</p><?cs /if ?>
  <table class="grid labelled" id="services">
    <thead>
      <tr><th>Name</th><th>Last Run (UTC)</th><th>State</th><th>Details</th><th class="icon">Action</th></tr>
    </thead>
    <tbody>
    <?cs each:s = Services ?>
      <tr data-service="<?cs var:s.Name ?>">
        <td class="name"><?cs var:s.Title ?></td>
        <td class="nowrap" data-label="Last Run (UTC)"><?cs if:s.LastRunAt ?><?cs var:s.LastRunAt ?><?cs else ?><span class="muted">never</span><?cs /if ?></td>
        <td data-label="State"><?cs if:s.LastResult == "ok" ?><span class="status status-enabled">ok</span><?cs elif:s.LastResult == "error" ?><span class="status status-failed">error</span><?cs else ?><span class="status status-disabled">idle</span><?cs /if ?></td>
        <td class="detail" data-label="Details"><?cs var:s.LastDetail ?></td>
        <td class="icon"><?cs if:s.Name == "cache_manager" && User.IsAdmin == 1 ?>
          <form method="post" action="/scheduler/cache/restart" class="inline">
            <input type="hidden" name="csrf_token" value="<?cs var:CSRF.Token ?>">
            <button type="submit" class="btn btn-primary btn-small" id="cache-restart">Restart</button>
          </form><?cs /if ?></td>
      </tr>
    <?cs /each ?>
    </tbody>
  </table>
</section>
<section class="card" id="cache-manager">
  <h2 class="first">Cache Manager</h2>
  <p class="hint">Dispatchers run the published set of enabled handlers. Edits take effect after a restart.</p>
  <dl class="facts">
    <dt>Published generation</dt><dd id="cache-generation"><?cs if:Cache.Generation > 0 ?><?cs var:Cache.Generation ?><?cs else ?>none yet<?cs /if ?></dd>
    <?cs if:Cache.Generation > 0 ?>
    <dt>Published</dt><dd id="cache-published"><?cs var:Cache.PublishedAt ?> UTC by <?cs var:Cache.PublishedBy ?></dd>
    <dt>Enabled handlers</dt><dd id="cache-count"><?cs var:Cache.HandlerCount ?></dd>
    <?cs /if ?>
    <dt>Pending edits</dt><dd id="cache-pending"><?cs if:Cache.Pending == 1 ?><span class="status status-archived">yes</span><?cs else ?><span class="status status-enabled">no</span><?cs /if ?></dd>
  </dl>
</section>
<?cs include:"scheduler_publish.cs" ?>
<section class="card" id="retry-queue">
  <h2 class="first">Retry queue</h2>
  <p class="hint">Failed deliveries wait here for the Retry Worker (<code>prov-worker</code>), which sends them again with the same delivery id. Exhausted ones stay in the Execution Logs, where they can be redelivered.</p>
  <dl class="facts">
    <dt>Due now</dt><dd id="retry-due"><?cs if:Retry.DueAny ?><span class="status status-archived"><?cs var:Retry.Due ?></span><?cs else ?>0<?cs /if ?></dd>
    <dt>Scheduled later</dt><dd id="retry-scheduled"><?cs var:Retry.Later ?></dd>
    <dt>Exhausted</dt><dd id="retry-exhausted"><?cs if:Retry.ExhaustedAny ?><span class="status status-failed"><?cs var:Retry.Exhausted ?></span><?cs else ?>0<?cs /if ?></dd>
    <dt>Delivered on a retry</dt><dd id="retry-done"><?cs var:Retry.Done ?></dd>
  </dl>
</section>
<?cs include:"footer.cs" ?>
