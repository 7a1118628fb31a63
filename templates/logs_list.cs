<?cs include:"header.cs" ?>
<?cs include:"verdict.cs" ?>
<section class="card">
  <div class="card-head">
    <h1>Execution Logs<?cs if:?Filter.HandlerId ?> <span class="muted heading-sub" id="handler-heading">&middot; <?cs
      if:Filter.HandlerName ?><?cs var:Filter.HandlerName ?><?cs
      elif:Filter.LoggedName ?><?cs var:Filter.LoggedName ?> (deleted)<?cs
      else ?>handler #<?cs var:Filter.HandlerId ?><?cs /if ?></span><?cs /if ?></h1>
    <span class="spacer"></span>
    <?cs if:ErrorCount == 0 ?><span class="count" id="result-count"><?cs var:List.Count ?> shown</span><?cs /if ?>
  </div>

  <?cs if:Purge.Done && Purge.LastDetail ?>
  <p class="alert alert-<?cs if:Purge.LastResult == "ok" ?>info<?cs else ?>error<?cs /if ?>" role="status" id="purge-done">Purge <?cs if:Purge.LastResult == "ok" ?>finished<?cs else ?>failed<?cs /if ?> at <?cs var:Purge.LastRun ?> UTC: <?cs var:Purge.LastDetail ?>.</p>
  <?cs /if ?>
  <?cs if:ErrorCount > 0 ?>
  <div class="alert alert-error" role="alert" id="filter-errors">
    <strong>Check the filters:</strong>
    <ul><?cs each:message = Errors ?><li><?cs var:message ?></li><?cs /each ?></ul>
  </div>
  <?cs /if ?>
  <?cs if:Pager.CursorMissing ?>
  <p class="alert alert-warn" role="status" id="cursor-missing">The entry this page started from no longer exists (it may have been purged); showing the newest entries.</p>
  <?cs /if ?>

  <form method="get" action="/logs" class="filters" id="log-filters">
    <div class="field">
      <label for="f-event">Event</label>
      <select id="f-event" name="event"<?cs if:Errors.Event ?> aria-invalid="true"<?cs /if ?>>
        <option value="">All events</option>
        <?cs set:group = "" ?><?cs each:e = Events ?><?cs if:e.Group != group ?><?cs if:group != "" ?></optgroup><?cs /if ?><optgroup label="<?cs var:e.Group ?>"><?cs set:group = e.Group ?><?cs /if ?>
        <option value="<?cs var:e.Id ?>"<?cs if:Filter.Event == e.Id ?> selected<?cs /if ?>><?cs var:e.Group ?> &rsaquo; <?cs var:e.Label ?></option><?cs /each ?></optgroup>
      </select>
    </div>
    <div class="field">
      <label for="f-status">Status</label>
      <select id="f-status" name="status"<?cs if:Errors.Status ?> aria-invalid="true"<?cs /if ?>>
        <option value="">Any</option>
        <option value="success"<?cs if:Filter.Status == "success" ?> selected<?cs /if ?>>Success</option>
        <option value="fail"<?cs if:Filter.Status == "fail" ?> selected<?cs /if ?>>Fail</option>
        <option value="waiting"<?cs if:Filter.Status == "waiting" ?> selected<?cs /if ?>>Waiting</option>
      </select>
    </div>
<?cs include:"logs_verdict_filter.cs" ?>
    <div class="field">
      <label for="f-handler">Handler<?cs if:HandlerChoicesTooMany ?> ID<?cs /if ?></label>
      <?cs if:HandlerChoicesTooMany ?>
      <input id="f-handler" name="handler" type="text" inputmode="numeric" maxlength="20" placeholder="ID, from the handler list" title="The handler's ID, as the handler list shows it (its logs icon fills it in); the heading names it" value="<?cs var:Filter.Handler ?>"<?cs if:Errors.Handler ?> aria-invalid="true"<?cs /if ?>>
      <?cs else ?>
      <select id="f-handler" name="handler"<?cs if:Errors.Handler ?> aria-invalid="true"<?cs /if ?>>
        <option value="">All handlers</option>
        <?cs if:?Filter.HandlerId && !Filter.HandlerName ?><option value="<?cs var:Filter.HandlerId ?>" selected>#<?cs var:Filter.HandlerId ?> <?cs var:Filter.LoggedName ?> (deleted)</option><?cs /if ?>
        <?cs each:h = HandlerChoices ?><option value="<?cs var:h.Id ?>"<?cs if:h.Selected ?> selected<?cs /if ?>><?cs var:h.Name ?> (#<?cs var:h.Id ?><?cs if:h.Status != "enabled" ?>, <?cs var:h.Status ?><?cs /if ?>)</option>
        <?cs /each ?>
      </select>
      <?cs /if ?>
    </div>
    <div class="field field-wide">
      <label for="f-text">Error or response contains</label>
      <input id="f-text" name="q" type="search" maxlength="200" value="<?cs var:Filter.Text ?>"<?cs if:Errors.Text ?> aria-invalid="true"<?cs /if ?>>
    </div>
    <div class="field">
      <label for="f-from">Date From (UTC)</label>
      <input id="f-from" name="from" type="text" placeholder="YYYY-MM-DD" title="A day, or a day and time: 2026-01-31 14:30 (UTC)" value="<?cs var:Filter.From ?>"<?cs if:Errors.From ?> aria-invalid="true"<?cs /if ?>>
    </div>
    <div class="field">
      <label for="f-to">Date To (UTC)</label>
      <input id="f-to" name="to" type="text" placeholder="YYYY-MM-DD" title="A day, or a day and time: 2026-01-31 14:30 (UTC)" value="<?cs var:Filter.To ?>"<?cs if:Errors.To ?> aria-invalid="true"<?cs /if ?>>
    </div>
    <div class="field field-buttons">
      <a class="btn" href="/logs" id="filter-reset">Reset</a>
      <button type="submit" class="btn btn-primary" id="filter-search">Search</button>
    </div>
  </form>
<?cs include:"logs_bulk_offer.cs" ?>
  <?cs include:"logs_histogram.cs" ?>

  <div class="table-scroll">
  <table class="grid logs" id="logs">
    <thead>
      <tr>
        <th class="num">ID</th><th class="icon">Status</th><th>Date (UTC)</th><th>Event</th><th>Handler</th><th class="num">Object ID</th><th>Response Data</th><th class="num">Duration</th>
      </tr>
    </thead>
    <tbody>
    <?cs each:l = Logs ?>
      <tr data-id="<?cs var:l.Id ?>" data-status="<?cs var:l.Status ?>">
        <td class="num"><a href="/logs/<?cs var:url_escape(l.Id) ?>" class="log-link">#<?cs var:l.Id ?></a></td>
        <td class="icon"><?cs if:?l.Verdict ?><?cs call:verdict_badge(l.Verdict, l.ForbidReason) ?><?cs else ?><?cs set:label = "Fail" ?><?cs if:l.Status == "success" ?><?cs set:label = "Success" ?><?cs elif:l.Status == "waiting" ?><?cs set:label = "Waiting" ?><?cs /if ?><span class="result result-<?cs var:l.Status ?>" title="<?cs var:label ?>"><span class="sr"><?cs var:label ?></span></span><?cs /if ?></td>
        <td class="date"><?cs var:l.Date ?></td>
        <td><a href="/logs/<?cs var:url_escape(l.Id) ?>/event" class="event-link" title="All handlers of this event"><span class="muted"><?cs var:l.EventGroup ?></span> <?cs var:l.EventLabel ?></a></td>
        <td class="name"><?cs if:?l.HandlerId ?><a href="/logs?handler=<?cs var:url_escape(l.HandlerId) ?>" title="Logs of this handler"><?cs var:l.HandlerName ?></a><?cs else ?><?cs var:l.HandlerName ?><?cs /if ?><?cs if:l.Trigger != "dispatch" ?> <span class="badge badge-<?cs var:l.Trigger ?>"><?cs var:l.Trigger ?> <?cs var:l.Attempt ?></span><?cs /if ?></td>
        <td class="num object-id"><?cs var:l.ObjectId ?></td>
        <td class="preview<?cs if:l.PreviewIsError ?> preview-error<?cs /if ?>"><?cs if:l.Status == "waiting" ?><span class="waiting-behind">waiting<?cs if:?l.Behind ?> behind <a href="/logs/<?cs var:url_escape(l.Behind) ?>">#<?cs var:l.Behind ?></a><?cs /if ?></span> <?cs /if ?><?cs if:l.HttpStatus ?><span class="code-chip">HTTP <?cs var:l.HttpStatus ?></span> <?cs elif:?l.ExitCode ?><span class="code-chip">exit <?cs var:l.ExitCode ?></span> <?cs /if ?><code><?cs var:l.Preview ?></code></td>
        <td class="num"><?cs var:l.Duration ?></td>
      </tr>
    <?cs /each ?>
    <?cs if:List.Count == 0 ?>
      <tr class="empty"><td colspan="8"><?cs if:ErrorCount > 0 ?>Correct the filters above to see entries.<?cs elif:Search.WindowEnded ?>No matches in this stretch of the log.<?cs elif:Filter.Active ?>No executions match these filters.<?cs else ?>No executions logged yet.<?cs /if ?></td></tr>
    <?cs /if ?>
    </tbody>
  </table>
  </div>

  <?cs if:Search.WindowEnded ?>
  <p class="alert alert-info search-window" id="search-window">The <?cs if:Filter.Text ?>text search<?cs else ?>verdict filter<?cs /if ?> reads <?cs var:Search.Window ?> entries at a time; it has looked back to <?cs var:Search.WindowDate ?> UTC. <?cs if:Pager.Older ?><a href="<?cs var:Pager.Older ?>" id="search-older">Search older entries</a><?cs /if ?></p>
  <?cs /if ?>
  <nav class="pager" aria-label="Pages">
    <?cs if:Pager.Newest ?><a class="btn" href="<?cs var:Pager.Newest ?>" id="page-newest">&laquo; Newest</a><?cs /if ?>
    <?cs if:Pager.Newer ?><a class="btn" href="<?cs var:Pager.Newer ?>" id="page-newer" rel="prev">&lsaquo; Newer</a><?cs /if ?>
    <span class="spacer"></span>
    <?cs if:Pager.Older ?><a class="btn" href="<?cs var:Pager.Older ?>" id="page-older" rel="next">Older &rsaquo;</a><?cs /if ?>
  </nav>
</section>

<?cs if:User.IsAdmin == 1 && Purge.Days ?>
<section class="card retention" id="retention">
  <h2>Retention</h2>
  <p>Entries older than <?cs var:Purge.Days ?> days are removed by <code>prov-admin logs purge</code>
  (run it daily from cron); the Task Scheduler page shows its last run.</p>
  <form method="post" action="/logs/purge" class="inline" data-confirm="Delete every execution log entry older than <?cs var:Purge.Days ?> days?">
    <input type="hidden" name="csrf_token" value="<?cs var:CSRF.Token ?>">
    <button type="submit" class="btn" id="purge-now">Purge now</button>
  </form>
</section>
<?cs /if ?>
<?cs include:"footer.cs" ?>
