<?cs # The Task Scheduler's health summary (page_charts.c, core/health.c). ?>
<section class="card health-summary" id="health" aria-labelledby="health-heading">
  <h2 class="first" id="health-heading">Health <?cs if:Health.Error ?><?cs elif:Health.Problems ?><span class="status status-failed" id="health-state">needs attention</span><?cs else ?><span class="status status-enabled" id="health-state">all clear</span><?cs /if ?></h2>
  <?cs if:Health.Error ?><p class="alert alert-error" role="alert"><?cs var:Health.Error ?></p><?cs else ?>
  <div class="health-grid">
    <div class="health-item" id="health-failing">
      <h3>Failing handlers</h3>
      <?cs if:Health.FailingCount > 0 ?>
      <ul class="health-list">
        <?cs each:f = Health.Failing ?><li data-id="<?cs var:f.Id ?>"><a href="/handlers/<?cs var:f.Id ?>"><?cs var:f.Name ?></a>
          <span class="status status-failed">failing for <?cs var:f.For ?></span>
          <span class="muted">since <?cs var:f.Since ?> UTC, <?cs var:f.Failures ?> in a row<?cs if:f.Status != "enabled" ?>, <?cs var:f.Status ?><?cs /if ?></span>
          <a class="health-act" href="/logs?handler=<?cs var:f.Id ?>&amp;status=fail">Failed runs &rsaquo;</a></li><?cs /each ?>
      </ul>
      <?cs if:Health.FailingMore > 0 ?><p class="muted">and <?cs var:Health.FailingMore ?> more: <a href="/logs?status=fail">failed runs</a>.</p><?cs /if ?>
      <?cs else ?><p class="muted">None: every handler's last run succeeded.</p><?cs /if ?>
    </div>
    <div class="health-item" id="health-retry">
      <h3>Retry backlog</h3>
      <p><strong id="health-retry-due"><?cs var:Retry.Due ?></strong> due now, <span id="health-retry-later"><?cs var:Retry.Later ?></span> scheduled later<?cs if:Health.Retry.OldestDue ?> (oldest due for <?cs var:Health.Retry.OldestDue ?>)<?cs /if ?>.</p>
      <p id="health-retry-trend">Last hour: <?cs var:Health.Retry.Added ?> added, <?cs var:Health.Retry.Finished ?> finished: <span class="trend trend-<?cs var:Health.Retry.Trend ?>"><?cs var:Health.Retry.Trend ?></span>.</p>
      <a class="health-act" href="#retry-queue">Retry queue &rsaquo;</a>
    </div>
    <div class="health-item" id="health-spool">
      <h3>Spool backlog</h3>
      <?cs if:Health.Spool.Readable ?><p><strong id="health-spool-waiting"><?cs var:Health.Spool.Waiting ?></strong> file<?cs if:Health.Spool.Waiting != 1 ?>s<?cs /if ?> waiting for import on this host<?cs if:Health.Spool.Corrupt > 0 ?>, <span class="status status-failed"><?cs var:Health.Spool.Corrupt ?> damaged</span><?cs /if ?>.</p>
      <?cs if:Health.Spool.Waiting > 0 ?><p class="muted">The Retry Worker (<code>prov-worker</code>) imports them.</p><?cs /if ?>
      <?cs else ?><p class="muted">This host's spool_dir cannot be listed by the panel.</p><?cs /if ?>
    </div>
    <div class="health-item" id="health-services">
      <h3>Services</h3>
      <?cs if:Health.LateCount > 0 ?>
      <ul class="health-list">
        <?cs each:s = Health.Late ?><li data-service="<?cs var:s.Name ?>"><strong><?cs var:s.Title ?></strong> <span class="status status-failed">late</span>
          <span class="muted"><?cs var:s.Why ?></span>
          <?cs if:s.Name == "cache_manager" ?><a class="health-act" href="#cache-manager">Cache Manager &rsaquo;</a><?cs elif:s.Name == "log_purge" || s.Name == "retention" ?><a class="health-act" href="/logs#retention">Purge &rsaquo;</a><?cs else ?><a class="health-act" href="#services">Services &rsaquo;</a><?cs /if ?></li><?cs /each ?>
      </ul>
      <?cs else ?><p class="muted">Every service ran when it should have.</p><?cs /if ?>
    </div>
  </div>
  <?cs /if ?>
</section>
