<?cs # The handler's History panel (page_history.c): newest first, field by field. ?>
<section class="card meta" id="handler-history">
  <h2>History</h2>
  <?cs if:HistoryCount == 0 ?><p class="muted">No recorded changes (the handler was created before changes were recorded).</p><?cs else ?>
  <ol class="history">
  <?cs each:h = History ?>
    <li class="history-entry" data-action="<?cs var:h.Action ?>">
      <div class="history-head"><strong><?cs var:h.ActionLabel ?></strong> <span class="muted"><?cs var:h.At ?> UTC by</span> <span class="history-actor"><?cs var:h.Actor ?></span> <span class="muted">(<?cs var:h.ActorKind ?>)</span></div>
      <?cs if:h.Action != "delete" ?><ul class="changes">
      <?cs each:c = h.Changes ?><li data-field="<?cs var:c.Field ?>"><?cs var:c.Label ?>: <?cs if:h.Action == "create" ?><ins><?cs var:c.After ?></ins><?cs else ?><del><?cs var:c.Before ?></del> &rarr; <ins><?cs var:c.After ?></ins><?cs /if ?></li><?cs /each ?>
      </ul><?cs /if ?>
    </li>
  <?cs /each ?>
  </ol>
  <?cs /if ?>
</section>
