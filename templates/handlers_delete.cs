<?cs include:"header.cs" ?>
<section class="card narrow-wide" id="delete-confirm">
  <h1>Delete handler #<?cs var:Delete.Id ?>?</h1>
  <dl class="facts">
    <dt>Name</dt><dd><strong><?cs var:Delete.Name ?></strong></dd>
    <dt>Event</dt><dd><?cs var:Delete.Event ?></dd>
    <dt>Handler</dt><dd><span class="badge badge-<?cs var:Delete.TaskType ?>"><?cs if:Delete.TaskType == "http" ?>HTTP<?cs else ?>script<?cs /if ?></span> <code><?cs var:Delete.Task ?></code></dd>
    <dt>Status</dt><dd><?cs var:Delete.Status ?></dd>
  </dl>
  <p class="hint">Deleting cannot be undone. Its execution logs stay readable under its name.
    <?cs if:Delete.Status != "archived" ?>To keep it for reference instead, set its status to <em>archived</em> in the edit form.<?cs /if ?></p>
  <form method="post" action="/handlers/<?cs var:Delete.Id ?>/delete" class="form-actions">
    <input type="hidden" name="csrf_token" value="<?cs var:CSRF.Token ?>">
    <input type="hidden" name="return" value="<?cs var:Delete.Return ?>">
    <button type="submit" class="btn btn-danger-solid" id="confirm-delete">Delete handler</button>
    <a class="btn" href="<?cs var:Delete.ListUrl ?>" id="cancel-delete">Cancel</a>
  </form>
</section>
<?cs include:"footer.cs" ?>
