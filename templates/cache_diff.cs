<?cs # What differs between two published handler sets (page_history.c set_diff): added, changed field by field, removed. ?>
<?cs def:show_diff(d, id) ?>
  <?cs if:d.Total == 0 ?><p class="muted diff-none">No handler changes.</p><?cs else ?>
  <ul class="diff" id="<?cs var:id ?>">
    <?cs each:e = d.Added ?><li class="diff-added" data-id="<?cs var:e.Id ?>"><span class="status status-enabled">added</span> #<?cs var:e.Id ?> <strong><?cs var:e.Name ?></strong> <span class="muted"><?cs var:e.Event ?></span></li><?cs /each ?>
    <?cs if:d.AddedMore > 0 ?><li class="muted">and <?cs var:d.AddedMore ?> more added</li><?cs /if ?>
    <?cs each:e = d.Changed ?><li class="diff-changed" data-id="<?cs var:e.Id ?>"><span class="status status-archived">changed</span> #<?cs var:e.Id ?> <strong><?cs var:e.Name ?></strong> <span class="muted"><?cs var:e.Event ?></span>
      <ul class="changes"><?cs each:c = e.Changes ?><li data-field="<?cs var:c.Field ?>"><?cs var:c.Label ?>: <del><?cs var:c.Before ?></del> &rarr; <ins><?cs var:c.After ?></ins></li><?cs /each ?></ul></li><?cs /each ?>
    <?cs if:d.ChangedMore > 0 ?><li class="muted">and <?cs var:d.ChangedMore ?> more changed</li><?cs /if ?>
    <?cs each:e = d.Removed ?><li class="diff-removed" data-id="<?cs var:e.Id ?>"><span class="status status-failed">removed</span> #<?cs var:e.Id ?> <strong><?cs var:e.Name ?></strong> <span class="muted"><?cs var:e.Event ?></span></li><?cs /each ?>
    <?cs if:d.RemovedMore > 0 ?><li class="muted">and <?cs var:d.RemovedMore ?> more removed</li><?cs /if ?>
  </ul>
  <?cs /if ?>
<?cs /def ?>
