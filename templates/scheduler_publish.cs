<?cs # Task Scheduler, Cache Manager (page_history.c): what a restart would change, the publish history with its diffs, the kept generations and their rollback. ?>
<?cs include:"cache_diff.cs" ?>
<?cs if:Flash.RolledBack ?><p class="alert alert-info" role="status" id="flash-rollback">Rolled back: generation <?cs var:Flash.Published ?> publishes the handlers of generation <?cs var:Flash.RolledBack ?> again. The handlers table is unchanged, so its edits since show as pending; a Restart publishes them.</p><?cs /if ?>
<?cs if:Flash.NotKept ?><p class="alert alert-error" role="alert" id="flash-notkept">That generation is not kept any more (the log purge keeps the newest <code>cache_generations_keep</code>).</p><?cs /if ?>
<?cs if:Cache.Pending == 1 ?>
<section class="card" id="publish-preview">
  <h2 class="first">What Restart will publish</h2>
  <p class="hint">Against the published generation<?cs if:Cache.Generation > 0 ?> <?cs var:Cache.Generation ?><?cs /if ?>: <?cs var:Preview.AddedCount ?> added, <?cs var:Preview.ChangedCount ?> changed, <?cs var:Preview.RemovedCount ?> removed (disabled, archived or deleted).</p>
  <?cs call:show_diff(Preview, "preview-diff") ?>
</section>
<?cs /if ?>
<section class="card" id="publish-history">
  <h2 class="first">Publish history</h2>
  <?cs if:!Publishes.0.Generation ?><p class="muted">Nothing published since history is recorded.</p><?cs /if ?>
  <ol class="history">
  <?cs each:p = Publishes ?>
    <li class="history-entry" data-generation="<?cs var:p.Generation ?>" data-action="<?cs var:p.Action ?>">
      <div class="history-head"><strong>Generation <?cs var:p.Generation ?></strong> <?cs if:p.Action == "rollback" ?><span class="badge badge-manual">rollback to <?cs var:p.RollbackOf ?></span> <?cs /if ?><span class="muted"><?cs var:p.At ?> UTC by</span> <?cs var:p.Actor ?> <span class="muted">&middot; <?cs var:p.HandlerCount ?> enabled<?cs if:p.Previous ?> &middot; against generation <?cs var:p.Previous ?><?cs /if ?></span></div>
      <?cs call:show_diff(p.Diff, "publish-diff-" + p.Generation) ?>
    </li>
  <?cs /each ?>
  </ol>
</section>
<section class="card" id="generations">
  <h2 class="first">Kept generations</h2>
  <p class="hint">Rolling back publishes a kept generation's handlers again, as a new generation; the handlers table is not changed.</p>
  <div class="table-scroll">
  <table class="grid labelled" id="generation-list">
    <thead><tr><th class="num">Generation</th><th>Published (UTC)</th><th>By</th><th class="num">Handlers</th><th class="icon">Action</th></tr></thead>
    <tbody>
    <?cs each:g = Generations ?>
      <tr data-generation="<?cs var:g.Generation ?>">
        <td class="num"><?cs var:g.Generation ?></td>
        <td class="nowrap" data-label="Published (UTC)"><?cs var:g.PublishedAt ?></td>
        <td data-label="By"><?cs var:g.PublishedBy ?></td>
        <td class="num" data-label="Handlers"><?cs var:g.HandlerCount ?></td>
        <td class="icon"><?cs if:g.Current == 1 ?><span class="status status-enabled">current</span><?cs elif:User.IsAdmin == 1 ?><a class="btn btn-small" href="/scheduler/rollback/<?cs var:url_escape(g.Generation) ?>" id="rollback-<?cs var:g.Generation ?>">Roll back&hellip;</a><?cs /if ?></td>
      </tr>
    <?cs /each ?>
    </tbody>
  </table>
  </div>
</section>
