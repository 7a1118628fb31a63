<?cs include:"header.cs" ?>
<?cs def:sort_th(key, label, cls) ?>
        <th class="<?cs var:cls ?> sortable"<?cs if:SortLinks[key].Dir == "asc" ?> aria-sort="ascending"<?cs elif:SortLinks[key].Dir == "desc" ?> aria-sort="descending"<?cs /if ?>><a href="<?cs var:SortLinks[key].Url ?>" class="sort<?cs if:SortLinks[key].Dir ?> sort-<?cs var:SortLinks[key].Dir ?><?cs /if ?>" data-sort="<?cs var:key ?>"><?cs var:label ?></a></th><?cs /def ?>
<div id="list-region">
<section class="card">
  <div class="card-head">
    <h1>Provisioning API</h1>
    <span class="count" id="result-count"><?cs var:List.Total ?> handler<?cs if:List.Total != 1 ?>s<?cs /if ?></span>
    <span class="spacer"></span>
    <?cs if:User.IsAdmin == 1 ?><a class="btn btn-primary" id="new-handler" href="/handlers/new<?cs if:List.Return ?>?return=<?cs var:List.ReturnParam ?><?cs /if ?>">+ New Handler</a><?cs /if ?>
    <details class="advsearch" id="advanced-search"<?cs if:List.Error ?> open<?cs /if ?>>
      <summary><span class="advsearch-label">Advanced Search</span><span class="advsearch-arrow" aria-hidden="true"></span></summary>
      <form method="get" action="/handlers" class="advsearch-form" id="search-form">
        <?cs if:List.Sort != "priority" ?><input type="hidden" name="sort" value="<?cs var:List.Sort ?>"><?cs /if ?>
        <?cs if:List.Dir == "desc" ?><input type="hidden" name="dir" value="desc"><?cs /if ?>
        <input type="hidden" name="size" value="<?cs var:List.Size ?>">
        <label for="search-event">Event:</label>
        <select id="search-event" name="event">
          <option value="">All events</option>
          <?cs each:g = EventGroups ?><optgroup label="<?cs var:g.Name ?>">
            <?cs each:e = g.Events ?><option value="<?cs var:e.Id ?>"<?cs if:e.Id == Filter.Event ?> selected<?cs /if ?>><?cs var:g.Name ?> &rsaquo; <?cs var:e.Label ?></option><?cs /each ?>
          </optgroup><?cs /each ?>
        </select>
        <label for="search-type">Handler Type:</label>
        <select id="search-type" name="type">
          <option value="">All types</option>
          <option value="http"<?cs if:Filter.Type == "http" ?> selected<?cs /if ?>>HTTP</option>
          <option value="script"<?cs if:Filter.Type == "script" ?> selected<?cs /if ?>>script</option>
        </select>
        <label for="search-status">Status:</label>
        <select id="search-status" name="status">
          <option value="">Enabled and disabled</option>
          <option value="enabled"<?cs if:Filter.Status == "enabled" ?> selected<?cs /if ?>>Enabled</option>
          <option value="disabled"<?cs if:Filter.Status == "disabled" ?> selected<?cs /if ?>>Disabled</option>
          <option value="archived"<?cs if:Filter.Status == "archived" ?> selected<?cs /if ?>>Archived</option>
        </select>
        <div class="advsearch-buttons">
          <a class="btn" id="search-reset" href="<?cs var:List.ResetUrl ?>">Reset</a>
          <button type="submit" class="btn btn-primary" id="search-submit">Search</button>
        </div>
      </form>
    </details>
  </div>
  <?cs if:Flash.Message ?><p class="alert alert-info" role="status" id="flash"><?cs var:Flash.Message ?><?cs if:Flash.ArchivedUrl ?> <a href="<?cs var:Flash.ArchivedUrl ?>" id="flash-archived">Status: archived</a>.<?cs /if ?></p><?cs /if ?>
  <?cs if:Cache.Pending == 1 ?><div class="alert alert-warn" role="status" id="pending-notice">
    <strong>Changes are pending.</strong> Handler changes take effect after the <strong>Cache Manager</strong> restart.
    <a href="/scheduler" id="pending-link">Restart it in Task Scheduler &rsaquo;</a>
    <span class="muted" id="published-at"><?cs if:Cache.Generation > 0 ?>Running now: generation <?cs var:Cache.Generation ?>, published <?cs var:Cache.PublishedAt ?> UTC by <?cs var:Cache.PublishedBy ?>.<?cs else ?>Nothing has been published yet.<?cs /if ?></span>
  </div><?cs /if ?>
  <?cs if:List.Error ?><p class="alert alert-error" role="alert" id="list-error"><?cs var:List.Error ?></p><?cs /if ?>
  <?cs if:Filter.Active == 1 ?><p class="active-filters" id="active-filters">Filtered by
    <?cs if:Filter.Event ?><span class="chip">Event: <?cs var:Filter.EventLabel ?></span><?cs /if ?>
    <?cs if:Filter.Type ?><span class="chip">Type: <?cs if:Filter.Type == "http" ?>HTTP<?cs else ?>script<?cs /if ?></span><?cs /if ?>
    <?cs if:Filter.Status ?><span class="chip">Status: <?cs var:Filter.Status ?></span><?cs /if ?>
    <a href="<?cs var:List.ResetUrl ?>">Clear filters</a></p><?cs /if ?>
  <div class="table-wrap">
  <table class="grid handlers" id="handlers">
    <thead>
      <tr><?cs call:sort_th("id", "ID", "num") ?><?cs call:sort_th("priority", "Priority", "num") ?><?cs call:sort_th("name", "Name", "") ?><?cs call:sort_th("event", "Event", "") ?><?cs call:sort_th("handler", "Handler", "") ?><?cs call:sort_th("status", "Status", "icon") ?>
        <th class="icon">Logs</th><?cs if:User.IsAdmin == 1 ?><th class="icon">Delete</th><?cs /if ?>
      </tr>
    </thead>
    <tbody>
    <?cs each:h = Handlers ?>
      <tr data-id="<?cs var:h.Id ?>" class="status-row-<?cs var:h.Status ?><?cs if:h.Id == Flash.Id ?> just-changed<?cs /if ?>">
        <td class="num" data-label="ID"><?cs var:h.Id ?></td>
        <td class="num" data-label="Priority"><?cs var:h.Priority ?></td>
        <td class="name"><a href="/handlers/<?cs var:h.Id ?><?cs if:List.Return ?>?return=<?cs var:List.ReturnParam ?><?cs /if ?>" class="handler-link"><?cs var:h.Name ?></a>
          <?cs if:h.LastRunAt ?><div class="health health-<?cs var:h.LastStatus ?>" title="Last run <?cs var:h.LastRunAt ?> UTC<?cs if:h.LastError ?>: <?cs var:h.LastError ?><?cs /if ?>"><?cs if:h.LastStatus == "success" ?>Last run OK<?cs else ?>Failing<?cs if:h.Failures > 1 ?> (<?cs var:h.Failures ?> in a row)<?cs /if ?><?cs /if ?> &middot; <?cs var:h.LastRunAgo ?></div><?cs else ?><div class="health health-never">Not run yet</div><?cs /if ?>
          <?cs include:"handlers_spark.cs" ?></td>
        <td data-label="Event"><span class="event-group"><?cs var:h.EventGroup ?></span> <?cs var:h.EventLabel ?></td>
        <td class="task" data-label="Handler"><span class="badge badge-<?cs var:h.TaskType ?>"><?cs if:h.TaskType == "http" ?>HTTP<?cs else ?>script<?cs /if ?></span> <code><?cs var:h.Task ?></code></td>
        <td class="icon" data-label="Status"><?cs if:User.IsAdmin == 1 && h.Toggle ?><form method="post" action="/handlers/<?cs var:h.Id ?>/status" class="inline toggle-form">
            <input type="hidden" name="csrf_token" value="<?cs var:CSRF.Token ?>">
            <input type="hidden" name="to" value="<?cs var:h.Toggle ?>">
            <input type="hidden" name="return" value="<?cs var:List.Return ?>">
            <button type="submit" class="icon-btn status-icon status-<?cs var:h.Status ?>" title="<?cs if:h.Status == "enabled" ?>Enabled: click to disable<?cs else ?>Disabled: click to enable<?cs /if ?>" aria-label="Handler #<?cs var:h.Id ?> is <?cs var:h.Status ?>: switch to <?cs var:h.Toggle ?>"><img src="/static/img/status-<?cs var:h.Status ?>.svg" width="20" height="20" alt="<?cs var:h.Status ?>"></button>
          </form><?cs else ?><span class="status-icon status-<?cs var:h.Status ?>" title="<?cs if:h.Status == "archived" ?>Archived: change it in the edit form<?cs else ?><?cs var:h.Status ?><?cs /if ?>"><img src="/static/img/status-<?cs var:h.Status ?>.svg" width="20" height="20" alt="<?cs var:h.Status ?>"></span><?cs /if ?></td>
        <td class="icon" data-label="Logs"><a class="icon-btn logs-link" href="/logs?handler=<?cs var:h.Id ?>" title="Execution logs of handler #<?cs var:h.Id ?>"><img src="/static/img/logs.svg" width="20" height="20" alt="Execution logs"></a></td>
        <?cs if:User.IsAdmin == 1 ?><td class="icon" data-label="Delete"><a class="icon-btn delete-link" href="/handlers/<?cs var:h.Id ?>/delete<?cs if:List.Return ?>?return=<?cs var:List.ReturnParam ?><?cs /if ?>" title="Delete handler #<?cs var:h.Id ?>" data-id="<?cs var:h.Id ?>" data-name="<?cs var:h.Name ?>"><img src="/static/img/delete.svg" width="20" height="20" alt="Delete"></a></td><?cs /if ?>
      </tr>
    <?cs /each ?>
    <?cs if:List.Count == 0 ?>
      <tr class="empty"><td colspan="8"><?cs if:Filter.Active == 1 ?>No handler matches these filters. <a href="<?cs var:List.ResetUrl ?>">Clear filters</a><?cs elif:User.IsAdmin == 1 ?>No handlers yet. <a href="/handlers/new">Create the first one</a>.<?cs else ?>No handlers yet.<?cs /if ?></td></tr>
    <?cs /if ?>
    </tbody>
  </table>
  </div>
  <div class="list-foot">
    <span class="range" id="result-range"><?cs if:List.Total > 0 ?>Showing <?cs var:List.From ?>&ndash;<?cs var:List.To ?> of <?cs var:List.Total ?><?cs else ?>Nothing to show<?cs /if ?></span>
    <?cs if:Pager.Pages > 1 ?><nav class="pager" aria-label="Pages" id="pager">
      <?cs if:Pager.PrevUrl ?><a href="<?cs var:Pager.PrevUrl ?>" rel="prev" class="pager-prev">&lsaquo; Prev</a><?cs else ?><span class="pager-prev disabled">&lsaquo; Prev</span><?cs /if ?>
      <?cs each:p = Pager.Items ?><?cs if:p.Gap ?><span class="gap">&hellip;</span><?cs elif:p.Current == 1 ?><span class="current" aria-current="page"><?cs var:p.Num ?></span><?cs else ?><a href="<?cs var:p.Url ?>"><?cs var:p.Num ?></a><?cs /if ?><?cs /each ?>
      <?cs if:Pager.NextUrl ?><a href="<?cs var:Pager.NextUrl ?>" rel="next" class="pager-next">Next &rsaquo;</a><?cs else ?><span class="pager-next disabled">Next &rsaquo;</span><?cs /if ?>
    </nav><?cs /if ?>
    <form method="get" action="/handlers" class="page-size" id="page-size-form">
      <?cs if:Filter.Event ?><input type="hidden" name="event" value="<?cs var:Filter.Event ?>"><?cs /if ?>
      <?cs if:Filter.Type ?><input type="hidden" name="type" value="<?cs var:Filter.Type ?>"><?cs /if ?>
      <?cs if:Filter.Status ?><input type="hidden" name="status" value="<?cs var:Filter.Status ?>"><?cs /if ?>
      <?cs if:List.Sort != "priority" ?><input type="hidden" name="sort" value="<?cs var:List.Sort ?>"><?cs /if ?>
      <?cs if:List.Dir == "desc" ?><input type="hidden" name="dir" value="desc"><?cs /if ?>
      <label for="page-size">Rows per page</label>
      <select id="page-size" name="size" data-autosubmit="1">
        <?cs each:s = Pager.Sizes ?><option value="<?cs var:s ?>"<?cs if:s == List.Size ?> selected<?cs /if ?>><?cs var:s ?></option><?cs /each ?>
      </select>
      <button type="submit" class="btn btn-small js-hide">Show</button>
    </form>
  </div>
</section>
</div>
<?cs include:"footer.cs" ?>
