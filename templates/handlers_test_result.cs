<?cs # A Send test's result (issue #16): in the handler form after an HTTP
     test, on a script test's own page once prov-worker ran it. Test.Result.*
     (cgi-bin/page_handlers_test.c handler_test_result_set). ?>
<?cs include:"verdict.cs" ?>
  <?cs if:?Test.Result.Status ?>
  <section class="test-result" id="test-result" aria-labelledby="test-result-title" tabindex="-1">
    <<?cs var:Test.Result.Heading ?> id="test-result-title">Test result <?cs call:verdict_badge(Test.Result.Verdict, Test.Result.Reason) ?></<?cs var:Test.Result.Heading ?>>
    <dl class="facts">
      <?cs if:Test.Result.Kind == "script" ?><dt>Exit code</dt><dd id="test-code"><?cs if:?Test.Result.ExitCode ?><?cs var:Test.Result.ExitCode ?><?cs else ?><span class="muted">none</span><?cs /if ?></dd>
      <?cs else ?><dt>HTTP status</dt><dd id="test-code"><?cs if:?Test.Result.HttpStatus ?><?cs var:Test.Result.HttpStatus ?><?cs else ?><span class="muted">no response</span><?cs /if ?></dd><?cs /if ?>
      <?cs if:Test.Result.Reason ?><dt>Reason</dt><dd id="test-reason"><?cs var:Test.Result.Reason ?></dd><?cs /if ?>
      <?cs if:Test.Result.Error ?><dt>Error</dt><dd class="error-text" id="test-error"><?cs var:Test.Result.Error ?></dd><?cs /if ?>
      <dt>Duration</dt><dd id="test-duration"><?cs var:Test.Result.Duration ?> <span class="muted">(timeout <?cs var:Test.Result.Timeout ?>)</span></dd>
      <dt>Logged as</dt><dd><a href="/logs/<?cs var:Test.Result.LogId ?>" id="test-log">execution #<?cs var:Test.Result.LogId ?></a></dd>
    </dl>
    <?cs if:Test.Result.Kind == "script" ?><p class="hint" id="test-script-input">The script got the envelope on its standard input and the <code>PROV_*</code> variables (event, ids, trigger <code>test</code>); its standard error is in the execution log.</p>
    <?cs else ?><<?cs var:Test.Result.Subheading ?>>Headers sent</<?cs var:Test.Result.Subheading ?>>
    <pre class="code" id="test-headers"><?cs var:Test.Result.RequestHeaders ?></pre><?cs /if ?>
    <<?cs var:Test.Result.Subheading ?>>Reply<?cs if:Test.Result.ReplyIsJson ?> <span class="muted">(JSON, indented)</span><?cs /if ?></<?cs var:Test.Result.Subheading ?>>
    <?cs if:?Test.Result.Reply ?><pre class="code" id="test-reply"><?cs var:Test.Result.Reply ?></pre><?cs else ?><p class="muted" id="test-reply-none">Nothing was received.</p><?cs /if ?>
  </section>
  <?cs /if ?>
