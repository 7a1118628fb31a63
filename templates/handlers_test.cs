<?cs # The handler form's Send test (issue #16): inside the form, so the
     button sends every field as it stands; the result of the last send. ?>
<fieldset class="test-send" id="test-send">
  <legend>Send test</legend>
  <p class="hint">Sends the handler <strong>as it stands in this form</strong> (unsaved changes included, whatever its status) once, to this handler only, with the payload below. Logged in the Execution Logs with the trigger <code>test</code>; never retried. A script handler is run by the retry worker (<code>prov-worker</code>, as the dispatcher's user, never the web server's): the test is queued and its result shows on a page of its own (save first to keep unsaved edits).</p>
  <?cs if:Test.Refused ?><p class="alert alert-error" role="alert" id="test-refused"><?cs var:Test.Refused ?></p><?cs /if ?>
  <div class="field<?cs if:Test.DataError ?> has-error<?cs /if ?>">
    <label for="f-test-data">Event data (JSON object)</label>
    <textarea id="f-test-data" name="test_data" rows="8" spellcheck="false" class="code-input"<?cs if:Test.DataError ?> aria-invalid="true" aria-describedby="e-test-data"<?cs /if ?>><?cs var:Test.Data ?></textarea>
    <input type="hidden" name="test_sample_of" value="<?cs var:Test.SampleOf ?>">
    <p class="hint">Prefilled with a sample of the chosen event; left as it is, it follows the Event select.</p>
    <?cs if:Test.DataError ?><p class="field-error" id="e-test-data"><?cs var:Test.DataError ?></p><?cs /if ?>
  </div>
  <button type="submit" class="btn" id="send-test" formaction="<?cs if:Form.Mode == "new" ?>/handlers/test<?cs else ?>/handlers/<?cs var:Form.Id ?>/test<?cs /if ?>">Send test</button>
  <?cs include:"handlers_test_result.cs" ?>
</fieldset>
