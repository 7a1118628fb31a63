<?cs include:"header.cs" ?>
<?cs def:field_error(f) ?><?cs if:Form.Errors[f] ?><p class="field-error" id="error-<?cs var:f ?>"><?cs var:Form.Errors[f] ?></p><?cs /if ?><?cs /def ?>
<?cs def:invalid(f) ?><?cs if:Form.Errors[f] ?> aria-invalid="true" aria-describedby="error-<?cs var:f ?>"<?cs /if ?><?cs /def ?>
<section class="card form-card">
  <div class="card-head">
    <h1><?cs if:Form.Mode == "new" ?>New handler<?cs else ?>Handler #<?cs var:Form.Id ?><?cs /if ?></h1>
    <?cs if:Form.Mode == "edit" ?><img class="status-icon" src="/static/img/status-<?cs var:Form.Meta.Status ?>.svg" width="20" height="20" alt="" title="<?cs var:Form.Meta.Status ?>"><span class="muted"><?cs var:Form.Meta.Status ?></span><?cs /if ?>
    <span class="spacer"></span>
    <?cs if:Form.Mode == "edit" ?><a class="btn btn-small" href="/logs?handler=<?cs var:Form.Id ?>" id="form-logs">Execution logs</a><?cs /if ?>
    <a class="btn btn-small" href="<?cs var:Form.ListUrl ?>" id="back-to-list">&lsaquo; Back to the list</a>
  </div>
  <?cs if:Form.ErrorCount > 0 && !Test.Refused ?><p class="alert alert-error" role="alert" id="form-errors">The handler was not saved: correct the <?cs if:Form.ErrorCount == 1 ?>field<?cs else ?><?cs var:Form.ErrorCount ?> fields<?cs /if ?> marked below.</p><?cs /if ?>
  <?cs if:Form.Conflict.Revision ?><div class="alert alert-error" role="alert" id="form-conflict">
    <p>Not saved: someone else saved this handler after you opened it (now revision <?cs var:Form.Conflict.Revision ?>, <?cs var:Form.Conflict.UpdatedAt ?> UTC).<?cs if:subcount(Form.Conflict.Fields) > 0 ?> It now reads:<?cs /if ?></p>
    <?cs if:subcount(Form.Conflict.Fields) > 0 ?><dl class="conflict-fields"><?cs each:f = Form.Conflict.Fields ?><dt><?cs var:f.Label ?></dt><dd><?cs var:f.Theirs ?></dd><?cs /each ?></dl><?cs /if ?>
    <p>Your values are in the form below: save again to replace theirs, or <a href="/handlers/<?cs var:Form.Id ?>">start again from theirs</a>.</p>
  </div><?cs /if ?>
  <?cs if:Form.ReadOnly == 1 ?><p class="alert alert-info" id="read-only">You can read this handler; only an admin can change it.</p><?cs /if ?>
  <form method="post" action="<?cs if:Form.Mode == "new" ?>/handlers/new<?cs else ?>/handlers/<?cs var:Form.Id ?><?cs /if ?>" class="form handler-form" id="handler-form" novalidate>
    <input type="hidden" name="csrf_token" value="<?cs var:CSRF.Token ?>">
    <input type="hidden" name="return" value="<?cs var:Form.Return ?>">
    <?cs if:Form.Mode == "edit" ?><input type="hidden" name="revision" value="<?cs var:Form.Revision ?>"><?cs /if ?>
    <fieldset class="plain"<?cs if:Form.ReadOnly == 1 ?> disabled<?cs /if ?>>
    <legend class="sr">Handler settings</legend>
    <div class="field<?cs if:Form.Errors.name ?> has-error<?cs /if ?>">
      <label for="f-name">Name</label>
      <input id="f-name" name="name" type="text" value="<?cs var:Form.Values.name ?>" placeholder="CRM sync" autocomplete="off"<?cs call:invalid("name") ?>>
      <?cs call:field_error("name") ?>
    </div>
    <div class="field<?cs if:Form.Errors.events_id ?> has-error<?cs /if ?>">
      <label for="f-event">Event</label>
      <select id="f-event" name="events_id"<?cs call:invalid("events_id") ?>>
        <option value="">&mdash; choose an event &mdash;</option>
        <?cs each:g = EventGroups ?><optgroup label="<?cs var:g.Name ?>">
          <?cs each:e = g.Events ?><option value="<?cs var:e.Id ?>"<?cs if:e.Id == Form.Values.events_id ?> selected<?cs /if ?>><?cs var:g.Name ?> &rsaquo; <?cs var:e.Label ?></option><?cs /each ?>
        </optgroup><?cs /each ?>
      </select>
      <?cs if:Form.Values.events_id && !Form.Errors.events_id ?><p class="hint">Event id: <code><?cs var:Form.Values.events_id ?></code></p><?cs /if ?>
      <?cs call:field_error("events_id") ?>
    </div>
    <div class="field<?cs if:Form.Errors.task ?> has-error<?cs /if ?>">
      <label for="f-task">Task</label>
      <input id="f-task" name="task" type="text" value="<?cs var:Form.Values.task ?>" placeholder="http://127.0.0.1:5000/api" autocomplete="off" spellcheck="false"<?cs call:invalid("task") ?>>
      <p class="hint">An <code>http://</code> or <code>https://</code> URL (called with a POST), <code>host:port/path</code> (read as <code>http://</code>), or a script in <code><?cs var:Form.ScriptsDir ?></code>.</p>
      <?cs call:field_error("task") ?>
    </div>
    <div class="field-row">
      <div class="field<?cs if:Form.Errors.status ?> has-error<?cs /if ?>">
        <label for="f-status">Status</label>
        <select id="f-status" name="status"<?cs call:invalid("status") ?>>
          <option value="enabled"<?cs if:Form.Values.status == "enabled" ?> selected<?cs /if ?>>enabled</option>
          <option value="disabled"<?cs if:Form.Values.status == "disabled" ?> selected<?cs /if ?>>disabled</option>
          <option value="archived"<?cs if:Form.Values.status == "archived" ?> selected<?cs /if ?>>archived</option>
        </select>
        <?cs call:field_error("status") ?>
      </div>
      <div class="field<?cs if:Form.Errors.priority ?> has-error<?cs /if ?>">
        <label for="f-priority">Priority</label>
        <input id="f-priority" name="priority" type="text" inputmode="numeric" value="<?cs var:Form.Values.priority ?>"<?cs call:invalid("priority") ?>>
        <p class="hint">1 runs before all others.</p>
        <?cs call:field_error("priority") ?>
      </div>
    </div>
    <fieldset class="delivery">
      <legend>Delivery</legend>
      <div class="field-row">
        <div class="field<?cs if:Form.Errors.timeout ?> has-error<?cs /if ?>">
          <label for="f-timeout">Timeout (seconds)</label>
          <input id="f-timeout" name="timeout" type="text" inputmode="decimal" value="<?cs var:Form.Values.timeout ?>"<?cs call:invalid("timeout") ?>>
          <?cs call:field_error("timeout") ?>
        </div>
        <div class="field<?cs if:Form.Errors.retry_enabled ?> has-error<?cs /if ?>">
          <span class="label" id="l-retry">Retries after a failure</span>
          <div class="choices" role="radiogroup" aria-labelledby="l-retry"<?cs call:invalid("retry_enabled") ?>>
            <label><input type="radio" name="retry_enabled" value="1" id="f-retry-on"<?cs if:Form.Values.retry_enabled != "0" ?> checked<?cs /if ?>> on</label>
            <label><input type="radio" name="retry_enabled" value="0" id="f-retry-off"<?cs if:Form.Values.retry_enabled == "0" ?> checked<?cs /if ?>> off</label>
          </div>
          <?cs call:field_error("retry_enabled") ?>
        </div>
      </div>
      <div class="field-row">
        <div class="field<?cs if:Form.Errors.retry_schedule ?> has-error<?cs /if ?>">
          <label for="f-schedule">Retry schedule</label>
          <input id="f-schedule" name="retry_schedule" type="text" value="<?cs var:Form.Values.retry_schedule ?>" placeholder="<?cs var:Form.DefaultSchedule ?>" spellcheck="false"<?cs call:invalid("retry_schedule") ?>>
          <p class="hint">Delays before each retry (s, m, h, d). Empty: <?cs var:Form.DefaultSchedule ?>.</p>
          <?cs call:field_error("retry_schedule") ?>
        </div>
        <div class="field<?cs if:Form.Errors.retry_max_attempts ?> has-error<?cs /if ?>">
          <label for="f-attempts">Max attempts</label>
          <input id="f-attempts" name="retry_max_attempts" type="text" inputmode="numeric" value="<?cs var:Form.Values.retry_max_attempts ?>" placeholder="one per step + 1"<?cs call:invalid("retry_max_attempts") ?>>
          <?cs call:field_error("retry_max_attempts") ?>
        </div>
      </div>
      <?cs include:"handlers_form_order.cs" ?>
      <div class="field<?cs if:Form.Errors.secret_action || Form.Errors.old_secret_hours ?> has-error<?cs /if ?>">
        <span class="label" id="l-secret">Signing secret</span>
        <p class="hint" id="secret-state"><?cs if:Form.HasSecret == 1 ?>A secret is set: requests carry an HMAC-SHA256 signature. It is never shown again.<?cs else ?>No secret: requests are not signed.<?cs /if ?></p>
        <?cs if:Form.OldSecretUntil ?><p class="hint" id="old-secret-until">Rotation under way: the previous secret still signs too, until <?cs var:Form.OldSecretUntil ?> UTC.</p><?cs /if ?>
        <div class="choices" role="radiogroup" aria-labelledby="l-secret"<?cs call:invalid("secret_action") ?>>
          <label><input type="radio" name="secret_action" value="keep" id="f-secret-keep"<?cs if:Form.Values.secret_action != "generate" && Form.Values.secret_action != "remove" ?> checked<?cs /if ?>> <?cs if:Form.HasSecret == 1 ?>keep it<?cs else ?>no secret<?cs /if ?></label>
          <label><input type="radio" name="secret_action" value="generate" id="f-secret-generate"<?cs if:Form.Values.secret_action == "generate" ?> checked<?cs /if ?>> <?cs if:Form.HasSecret == 1 ?>generate a new one<?cs else ?>generate one<?cs /if ?></label>
          <?cs if:Form.HasSecret == 1 ?><label><input type="radio" name="secret_action" value="remove" id="f-secret-remove"<?cs if:Form.Values.secret_action == "remove" ?> checked<?cs /if ?>> remove it</label><?cs /if ?>
        </div>
        <?cs call:field_error("secret_action") ?>
        <?cs if:Form.HasSecret == 1 ?><div class="inline-field">
          <label for="f-old-hours">With a new one, keep signing with the old secret for</label>
          <input id="f-old-hours" name="old_secret_hours" type="text" inputmode="numeric" size="4" value="<?cs var:Form.Values.old_secret_hours ?>"<?cs call:invalid("old_secret_hours") ?>> hours
          <p class="hint">0 to 168. Meanwhile each request carries both signatures, so receivers can switch to the new secret without a gap.</p>
        </div><?cs /if ?>
        <?cs call:field_error("old_secret_hours") ?>
      </div>
      <div class="field<?cs if:Form.Errors.signature_scheme ?> has-error<?cs /if ?>">
        <label for="f-scheme">Signature scheme</label>
        <select id="f-scheme" name="signature_scheme"<?cs call:invalid("signature_scheme") ?>>
          <option value="prov"<?cs if:Form.Values.signature_scheme != "standard" ?> selected<?cs /if ?>>X-Prov-Signature (Stripe-compatible)</option>
          <option value="standard"<?cs if:Form.Values.signature_scheme == "standard" ?> selected<?cs /if ?>>Standard Webhooks (webhook-signature)</option>
        </select>
        <p class="hint">How receivers verify: <code>X-Prov-Signature: t=&hellip;,v1=&hellip;</code> with Stripe's libraries, or <code>webhook-id</code>, <code>webhook-timestamp</code>, <code>webhook-signature</code> with the Standard Webhooks libraries.</p>
        <?cs call:field_error("signature_scheme") ?>
      </div>
    </fieldset>
    <?cs if:Form.ReadOnly != 1 ?><?cs include:"handlers_test.cs" ?><?cs /if ?>
    <?cs if:Form.ReadOnly != 1 ?><div class="form-actions">
      <button type="submit" class="btn btn-primary" id="save"><?cs if:Form.Mode == "new" ?>Create handler<?cs else ?>Save changes<?cs /if ?></button>
      <a class="btn" href="<?cs var:Form.ListUrl ?>" id="cancel">Cancel</a>
      <?cs if:Form.Mode == "edit" ?><span class="spacer"></span><a class="btn btn-danger" href="/handlers/<?cs var:Form.Id ?>/delete" id="form-delete">Delete&hellip;</a><?cs /if ?>
    </div><?cs /if ?>
    </fieldset>
  </form>
</section>
<?cs if:Form.Mode == "edit" ?>
<?cs include:"handlers_charts.cs" ?>
<section class="card meta" id="handler-meta">
  <h2>Health</h2>
  <dl class="facts">
    <dt>Last run</dt><dd><?cs if:Form.Meta.LastRunAt ?><span class="health health-<?cs var:Form.Meta.LastStatus ?>"><?cs if:Form.Meta.LastStatus == "success" ?>OK<?cs else ?>failed<?cs /if ?></span> <?cs var:Form.Meta.LastRunAt ?> UTC<?cs else ?><span class="muted">not run yet</span><?cs /if ?></dd>
    <?cs if:Form.Meta.Failures > 0 ?><dt>Failures in a row</dt><dd><?cs var:Form.Meta.Failures ?></dd><?cs /if ?>
    <?cs if:Form.Meta.LastError ?><dt>Last error</dt><dd><code><?cs var:Form.Meta.LastError ?></code></dd><?cs /if ?>
    <dt>Created</dt><dd><?cs var:Form.Meta.CreatedAt ?> UTC</dd>
    <dt>Updated</dt><dd><?cs var:Form.Meta.UpdatedAt ?> UTC</dd>
  </dl>
</section>
<?cs include:"handlers_history.cs" ?>
<?cs /if ?>
<?cs include:"footer.cs" ?>
