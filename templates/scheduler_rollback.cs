<?cs include:"header.cs" ?>
<?cs include:"cache_diff.cs" ?>
<section class="card narrow-wide" id="rollback-confirm">
  <h1>Roll back to generation <?cs var:Rollback.Generation ?>?</h1>
  <p>Dispatchers run generation <?cs var:Rollback.Current ?> now. Rolling back publishes the handlers of generation <?cs var:Rollback.Generation ?> again as a new generation; from their next event dispatchers run them. This changes, against what runs now:</p>
  <?cs call:show_diff(Rollback.Diff, "rollback-diff") ?>
  <p class="hint">The handlers table is not changed: the Provisioning API list keeps your current edits, shown as pending, and the next Restart publishes them.</p>
  <form method="post" action="/scheduler/rollback/<?cs var:Rollback.Generation ?>" class="form-actions">
    <input type="hidden" name="csrf_token" value="<?cs var:CSRF.Token ?>">
    <button type="submit" class="btn btn-danger-solid" id="confirm-rollback">Roll back to generation <?cs var:Rollback.Generation ?></button>
    <a class="btn" href="/scheduler" id="cancel-rollback">Cancel</a>
  </form>
</section>
<?cs include:"footer.cs" ?>
