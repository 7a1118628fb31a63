<?cs # A script handler's Send test (issue #16): queued by the panel for the
     retry worker, which runs scripts as the dispatcher's user. While it waits
     #test-progress carries data-poll: static/js/panel.js fetches the page
     again and swaps that region in; without script the Reload link does. ?>
<?cs include:"header.cs" ?>
<section class="card narrow-wide" id="test-request">
  <div class="card-head">
    <h1>Send test #<?cs var:TestRun.Id ?></h1>
  </div>
  <dl class="facts">
    <dt>Handler</dt><dd id="test-handler"><?cs if:TestRun.HandlerId ?><a href="/handlers/<?cs var:TestRun.HandlerId ?>">#<?cs var:TestRun.HandlerId ?> <?cs var:TestRun.HandlerName ?></a><?cs else ?><?cs var:TestRun.HandlerName ?> <span class="muted">(unsaved)</span><?cs /if ?></dd>
    <dt>Event</dt><dd><code><?cs var:TestRun.Event ?></code></dd>
    <dt>Script</dt><dd><code id="test-task"><?cs var:TestRun.Task ?></code></dd>
    <dt>Asked</dt><dd><?cs var:TestRun.CreatedAt ?> UTC by <?cs var:TestRun.RequestedBy ?></dd>
  </dl>
  <div class="test-progress" id="test-progress" aria-live="polite" data-state="<?cs var:TestRun.State ?>"<?cs if:TestRun.Waiting ?> data-poll="2000"<?cs /if ?>>
    <p class="test-state"><span class="status <?cs if:TestRun.State == "done" && !TestRun.Error ?>status-enabled<?cs elif:TestRun.Error || TestRun.Notice && !TestRun.Waiting ?>status-failed<?cs else ?>status-archived<?cs /if ?>" id="test-state"><?cs if:TestRun.State == "queued" && TestRun.Waiting ?>queued<?cs elif:TestRun.State == "running" && TestRun.Waiting ?>running<?cs elif:TestRun.State == "done" && !TestRun.Error ?>done<?cs else ?>not run<?cs /if ?></span>
    <?cs if:TestRun.State == "queued" && TestRun.Waiting ?><span id="test-waiting">Queued for the retry worker (<code>prov-worker</code>), which runs scripts as the dispatcher's user, never the web server's<?cs if:TestRun.WorkerLastRun && !TestRun.Notice ?>; it last ran <?cs var:TestRun.WorkerLastRun ?> ago<?cs /if ?>. This page updates itself when the result is in.</span>
    <?cs elif:TestRun.State == "running" && TestRun.Waiting ?><span id="test-waiting">Running on the retry worker <code><?cs var:TestRun.ClaimedBy ?></code>; this page updates itself when the result is in.</span>
    <?cs elif:TestRun.State == "done" && TestRun.ClaimedBy ?><span class="muted" id="test-ran-on">Ran on the retry worker <code><?cs var:TestRun.ClaimedBy ?></code>.</span><?cs /if ?></p>
    <?cs if:TestRun.Notice ?><p class="alert alert-warn" role="status" id="test-notice"><?cs var:TestRun.Notice ?></p><?cs /if ?>
    <?cs if:TestRun.Error ?><p class="alert alert-error" role="alert" id="test-failed"><?cs var:TestRun.Error ?></p><?cs /if ?>
    <?cs include:"handlers_test_result.cs" ?>
  </div>
  <p class="form-actions"><?cs if:!?Test.Result.Status ?><a class="btn" href="/handlers/tests/<?cs var:TestRun.Id ?>" id="test-reload">Reload</a> <?cs /if ?><?cs if:TestRun.HandlerId ?><a class="btn" href="/handlers/<?cs var:TestRun.HandlerId ?>" id="test-back">Back to handler #<?cs var:TestRun.HandlerId ?></a><?cs else ?><a class="btn" href="/handlers/new" id="test-back">New handler</a><?cs /if ?></p>
</section>
<?cs include:"footer.cs" ?>
