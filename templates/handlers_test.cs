<?cs # The handler form's Send test (issue #16): inside the form, so the
     button sends every field as it stands; the result of the last send. ?>
<?cs include:"verdict.cs" ?>
<fieldset class="test-send" id="test-send">
  <legend>Send test</legend>
  <p class="hint">Sends the handler <strong>as it stands in this form</strong> (unsaved changes included, whatever its status) once, to this handler only, with the payload below. Logged in the Execution Logs with the trigger <code>test</code>; never retried.</p>
  <?cs if:Test.Refused ?><p class="alert alert-error" role="alert" id="test-refused"><?cs var:Test.Refused ?></p><?cs /if ?>
  <div class="field<?cs if:Test.DataError ?> has-error<?cs /if ?>">
    <label for="f-test-data">Event data (JSON object)</label>
    <textarea id="f-test-data" name="test_data" rows="8" spellcheck="false" class="code-input"<?cs if:Test.DataError ?> aria-invalid="true" aria-describedby="e-test-data"<?cs /if ?>><?cs var:Test.Data ?></textarea>
    <input type="hidden" name="test_sample_of" value="<?cs var:Test.SampleOf ?>">
    <p class="hint">Prefilled with a sample of the chosen event; left as it is, it follows the Event select.</p>
    <?cs if:Test.DataError ?><p class="field-error" id="e-test-data"><?cs var:Test.DataError ?></p><?cs /if ?>
  </div>
  <button type="submit" class="btn" id="send-test" formaction="<?cs if:Form.Mode == "new" ?>/handlers/test<?cs else ?>/handlers/<?cs var:Form.Id ?>/test<?cs /if ?>">Send test</button>
  <?cs if:?Test.Result.Status ?>
  <section class="test-result" id="test-result" aria-labelledby="test-result-title" tabindex="-1">
    <h3 id="test-result-title">Test result <?cs call:verdict_badge(Test.Result.Verdict, Test.Result.Reason) ?></h3>
    <dl class="facts">
      <?cs if:Test.Result.Kind == "script" ?><dt>Exit code</dt><dd id="test-code"><?cs if:?Test.Result.ExitCode ?><?cs var:Test.Result.ExitCode ?><?cs else ?><span class="muted">none</span><?cs /if ?></dd>
      <?cs else ?><dt>HTTP status</dt><dd id="test-code"><?cs if:?Test.Result.HttpStatus ?><?cs var:Test.Result.HttpStatus ?><?cs else ?><span class="muted">no response</span><?cs /if ?></dd><?cs /if ?>
      <?cs if:Test.Result.Reason ?><dt>Reason</dt><dd id="test-reason"><?cs var:Test.Result.Reason ?></dd><?cs /if ?>
      <?cs if:Test.Result.Error ?><dt>Error</dt><dd class="error-text" id="test-error"><?cs var:Test.Result.Error ?></dd><?cs /if ?>
      <dt>Duration</dt><dd id="test-duration"><?cs var:Test.Result.Duration ?> <span class="muted">(timeout <?cs var:Test.Result.Timeout ?>)</span></dd>
      <dt>Logged as</dt><dd><a href="/logs/<?cs var:Test.Result.LogId ?>" id="test-log">execution #<?cs var:Test.Result.LogId ?></a></dd>
    </dl>
    <h4>Headers sent</h4>
    <pre class="code" id="test-headers"><?cs var:Test.Result.RequestHeaders ?></pre>
    <h4>Reply<?cs if:Test.Result.ReplyIsJson ?> <span class="muted">(JSON, indented)</span><?cs /if ?></h4>
    <?cs if:?Test.Result.Reply ?><pre class="code" id="test-reply"><?cs var:Test.Result.Reply ?></pre><?cs else ?><p class="muted" id="test-reply-none">Nothing was received.</p><?cs /if ?>
  </section>
  <?cs /if ?>
</fieldset>
