<?cs include:"header.cs" ?>
<section class="card">
  <div class="card-head">
    <h1>API keys</h1>
    <span class="count"><?cs var:KeyCount ?> key<?cs if:KeyCount != 1 ?>s<?cs /if ?></span>
  </div>
  <p class="hint">Keys authenticate the JSON API (<code>X-Api-Key</code> header, under <code>/api/v1/</code>) and act with their user's role: a viewer's key can only read.</p>
  <?cs if:Notice ?><p class="alert alert-info" role="status"><?cs var:Notice ?></p><?cs /if ?>
  <?cs if:Created.Key ?>
  <div class="alert alert-warn" role="status" id="created-key">
    <strong>Key <?cs var:Created.Id ?> created.</strong> Copy it now: it is not shown again.
    <pre class="secret"><?cs var:Created.Key ?></pre>
  </div>
  <?cs /if ?>
  <table class="grid labelled" id="apikeys">
    <thead><tr><th class="num">ID</th><th>Name</th><th>Key</th><th>User</th><th>Created</th><th>Last used</th><th class="icon">State</th></tr></thead>
    <tbody>
    <?cs each:k = Keys ?>
      <tr data-id="<?cs var:k.Id ?>"<?cs if:k.Revoked ?> class="revoked"<?cs /if ?>>
        <td class="num" data-label="ID"><?cs var:k.Id ?></td>
        <td class="name"><?cs var:k.Name ?></td>
        <td data-label="Key"><code>pk_<?cs var:k.Prefix ?>…</code></td>
        <td data-label="User"><?cs var:k.User ?> <small class="role role-<?cs var:k.Role ?>"><?cs var:k.Role ?></small></td>
        <td data-label="Created"><?cs var:k.Created ?></td>
        <td data-label="Last used"><?cs if:k.LastUsed ?><?cs var:k.LastUsed ?><?cs else ?><span class="muted">never</span><?cs /if ?></td>
        <td class="icon"><?cs if:k.Revoked ?><span class="status status-disabled" title="revoked <?cs var:k.Revoked ?>">revoked</span><?cs else ?>
          <form method="post" action="/apikeys/<?cs var:k.Id ?>/revoke" class="inline" data-confirm="Revoke this API key? Programs using it stop working at once.">
            <input type="hidden" name="csrf_token" value="<?cs var:CSRF.Token ?>">
            <button type="submit" class="btn btn-small btn-danger">Revoke</button>
          </form><?cs /if ?></td>
      </tr>
    <?cs /each ?>
    <?cs if:KeyCount == 0 ?><tr class="empty"><td colspan="7">No API keys yet.</td></tr><?cs /if ?>
    </tbody>
  </table>
</section>
<section class="card">
  <h2>New API key</h2>
  <?cs if:Form.Error ?><p class="alert alert-error" role="alert" id="form-error"><?cs var:Form.Error ?></p><?cs /if ?>
  <form method="post" action="/apikeys" class="form form-inline">
    <input type="hidden" name="csrf_token" value="<?cs var:CSRF.Token ?>">
    <div><label for="key-name">Name</label>
    <input id="key-name" name="name" type="text" maxlength="255" required placeholder="CRM sync" value="<?cs var:Form.Name ?>"></div>
    <div><label for="key-user">Acts as user</label>
    <select id="key-user" name="user">
      <?cs each:u = Users ?><option value="<?cs var:u.Name ?>"<?cs if:u.Name == Form.User ?> selected<?cs /if ?>><?cs var:u.Name ?> (<?cs var:u.Role ?>)</option><?cs /each ?>
    </select></div>
    <div><button type="submit" class="btn btn-primary">Create key</button></div>
  </form>
</section>
<?cs include:"footer.cs" ?>
