<?cs include:"header.cs" ?>
<?cs include:"verdict.cs" ?>
<?cs if:?Log.ExitCode ?><?cs set:kind = "script" ?><?cs elif:?Log.HttpStatus || ?Log.RequestHeaders ?><?cs set:kind = "http" ?><?cs else ?><?cs set:kind = "" ?><?cs /if ?>
<section class="card">
  <div class="card-head">
    <h1>Execution #<?cs var:Log.Id ?></h1>
    <?cs if:?Log.Verdict ?><span id="log-status"><?cs call:verdict_badge(Log.Verdict, Log.ForbidReason) ?></span><?cs else ?><span class="result-label result-label-<?cs var:Log.Status ?>" id="log-status"><span class="result result-<?cs var:Log.Status ?>" aria-hidden="true"></span><?cs if:Log.Status == "success" ?>Success<?cs elif:Log.Status == "waiting" ?>Waiting<?cs else ?>Fail<?cs /if ?></span><?cs /if ?>
    <span class="spacer"></span>
    <?cs if:User.IsAdmin == 1 && ?Log.HandlerId ?>
    <form method="post" action="/logs/<?cs var:url_escape(Log.Id) ?>/redeliver" class="inline" data-confirm="Run this handler again now with the same request and delivery id?">
      <input type="hidden" name="csrf_token" value="<?cs var:CSRF.Token ?>">
      <button type="submit" class="btn btn-primary" id="redeliver">Redeliver</button>
    </form>
    <?cs /if ?>
    <?cs if:?Log.HandlerId ?><a class="btn" href="/logs?handler=<?cs var:url_escape(Log.HandlerId) ?>">Logs of this handler</a><?cs /if ?>
    <a class="btn" href="/logs/<?cs var:url_escape(Log.Id) ?>/event" id="event-chain">All handlers of this event</a>
    <a class="btn" href="/logs">All logs</a>
  </div>
  <?cs if:Redelivered == "ok" ?><p class="alert alert-info" role="status" id="redeliver-result">Redelivered: the handler accepted it this time. This is the new execution.</p>
  <?cs elif:Redelivered == "queued" ?><p class="alert alert-info" role="status" id="redeliver-result">Queued for the retry worker: a script handler runs as the dispatcher's user, never the web server's. The new execution appears in the Execution Logs once <code>prov-worker</code> has run it.</p>
  <?cs elif:Redelivered == "fail" ?><p class="alert alert-error" role="status" id="redeliver-result">Redelivered, and it failed again: see the error below. This is the new execution.</p><?cs /if ?>
  <?cs if:Log.Status == "waiting" ?><?cs include:"logs_detail_waiting.cs" ?><?cs /if ?>
  <dl class="facts" id="log-facts">
    <?cs if:Log.Verdict == "forbidden" ?><dt>Forbidden</dt><dd id="log-forbid-reason"><?cs if:Log.ForbidReason ?><?cs var:Log.ForbidReason ?><?cs else ?><span class="muted">no reason given</span><?cs /if ?></dd><?cs /if ?>
    <dt>Date (UTC)</dt><dd><?cs var:Log.Date ?></dd>
    <dt>Event</dt><dd><span class="muted"><?cs var:Log.EventGroup ?></span> <?cs var:Log.EventLabel ?> <code class="muted"><?cs var:Log.EventId ?></code></dd>
    <dt>Handler</dt><dd><?cs var:Log.HandlerName ?><?cs if:?Log.HandlerId ?> <span class="muted">#<?cs var:Log.HandlerId ?></span><?cs /if ?></dd>
    <dt>Object ID</dt><dd><?cs if:?Log.ObjectId ?><?cs var:Log.ObjectId ?><?cs else ?><span class="muted">none</span><?cs /if ?></dd>
    <dt>Trigger</dt><dd id="log-trigger"><?cs if:Log.Trigger == "dispatch" ?>Dispatch<?cs elif:Log.Trigger == "retry" ?>Retry<?cs elif:Log.Trigger == "test" ?>Test send<?cs else ?>Manual redelivery<?cs /if ?><?cs if:?Log.RedeliveryOf ?> of <a href="/logs/<?cs var:url_escape(Log.RedeliveryOf) ?>">#<?cs var:Log.RedeliveryOf ?></a><?cs /if ?></dd>
    <dt>Attempt</dt><dd id="log-attempt"><?cs var:Log.Attempt ?></dd>
    <?cs if:kind == "script" ?>
    <dt>Exit code</dt><dd id="log-code"><?cs var:Log.ExitCode ?></dd>
    <?cs elif:kind == "http" ?>
    <dt>HTTP status</dt><dd id="log-code"><?cs if:?Log.HttpStatus ?><?cs var:Log.HttpStatus ?><?cs else ?><span class="muted">no response</span><?cs /if ?></dd>
    <?cs else ?>
    <dt>HTTP status / exit code</dt><dd id="log-code"><span class="muted">none (no response, or the script was stopped)</span></dd>
    <?cs /if ?>
    <dt>Duration</dt><dd id="log-duration"><?cs var:Log.Duration ?></dd>
    <dt>Event id</dt><dd><code id="log-event-uid"><?cs var:Log.EventUid ?></code></dd>
    <dt>Delivery id</dt><dd><code id="log-delivery-id"><?cs var:Log.DeliveryId ?></code></dd>
    <?cs if:?Log.Error ?><dt>Error</dt><dd class="error-text" id="log-error"><?cs var:Log.Error ?></dd><?cs /if ?>
  </dl>
</section>

<section class="card" id="request">
  <h2><?cs if:kind == "script" ?>Sent to the script (stdin)<?cs else ?>Request sent<?cs /if ?></h2>
  <?cs if:?Log.RequestHeaders ?>
  <h3>Headers</h3>
  <pre class="code" id="request-headers"><?cs var:Log.RequestHeaders ?></pre>
  <?cs /if ?>
  <h3>Body<?cs if:Log.RequestIsJson ?> <span class="muted">(JSON, indented)</span><?cs /if ?></h3>
  <pre class="code" id="request-body"><?cs var:Log.RequestBody ?></pre>
</section>

<section class="card" id="response">
  <h2><?cs if:kind == "script" ?>Script output (stdout)<?cs else ?>Response received<?cs /if ?></h2>
  <?cs if:Log.ResponseTruncated == 1 ?>
  <p class="alert alert-warn" id="response-truncated">Cut: only the first <?cs var:Log.ResponseMax ?> bytes of the response were kept (response_max_bytes).</p>
  <?cs /if ?>
  <?cs if:Log.ResponseHeaders ?>
  <h3>Headers</h3>
  <pre class="code" id="response-headers"><?cs var:Log.ResponseHeaders ?></pre>
  <?cs /if ?>
  <?cs if:Log.HasResponse == 1 ?>
  <h3>Body<?cs if:Log.ResponseIsJson ?> <span class="muted">(JSON, indented)</span><?cs /if ?></h3>
  <?cs if:Log.ResponseBody == "" ?><p class="muted" id="response-empty">Empty.</p><?cs else ?><pre class="code" id="response-body"><?cs var:Log.ResponseBody ?><?cs if:Log.ResponseTruncated == 1 ?><span class="cut-mark" title="cut here">[… cut]</span><?cs /if ?></pre><?cs /if ?>
  <?cs else ?>
  <p class="muted" id="response-none">Nothing was received<?cs if:Log.Error ?>: <?cs var:Log.Error ?><?cs /if ?>.</p>
  <?cs /if ?>
</section>

<?cs if:?Log.Stderr ?>
<section class="card" id="stderr">
  <h2>Script stderr</h2>
  <pre class="code" id="script-stderr"><?cs var:Log.Stderr ?></pre>
</section>
<?cs /if ?>

<?cs if:AttemptCount > 1 ?>
<section class="card" id="attempts">
  <h2>Executions of this delivery</h2>
  <table class="grid">
    <thead><tr><th class="num">ID</th><th class="icon">Status</th><th>Date (UTC)</th><th class="num">Attempt</th><th>Trigger</th><th>Code</th><th>Error</th><th class="num">Duration</th></tr></thead>
    <tbody>
    <?cs each:a = Attempts ?>
      <tr<?cs if:a.Id == Log.Id ?> class="current"<?cs /if ?>>
        <td class="num"><a href="/logs/<?cs var:url_escape(a.Id) ?>">#<?cs var:a.Id ?></a></td>
        <td class="icon"><span class="result result-<?cs var:a.Status ?>" title="<?cs var:a.Status ?>"><span class="sr"><?cs var:a.Status ?></span></span></td>
        <td class="date"><?cs var:a.Date ?></td>
        <td class="num"><?cs var:a.Attempt ?></td>
        <td><?cs var:a.Trigger ?></td>
        <td><?cs if:a.HttpStatus ?>HTTP <?cs var:a.HttpStatus ?><?cs elif:a.ExitCode != "" ?>exit <?cs var:a.ExitCode ?><?cs /if ?></td>
        <td class="preview-error"><?cs var:a.Error ?></td>
        <td class="num"><?cs var:a.Duration ?></td>
      </tr>
    <?cs /each ?>
    </tbody>
  </table>
</section>
<?cs /if ?>
<?cs include:"footer.cs" ?>
