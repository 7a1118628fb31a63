<?cs include:"header.cs" ?>
<?cs include:"verdict.cs" ?>
<?cs def:step_code(s) ?><?cs if:?s.HttpStatus ?>HTTP <?cs var:s.HttpStatus ?><?cs elif:?s.ExitCode ?>exit <?cs var:s.ExitCode ?><?cs /if ?><?cs /def ?>
<section class="card">
  <div class="card-head">
    <h1>All handlers of this event</h1>
    <span class="spacer"></span>
    <a class="btn" href="/logs/<?cs var:url_escape(Event.From) ?>">Back to execution #<?cs var:Event.From ?></a>
    <a class="btn" href="/logs">All logs</a>
  </div>
  <dl class="facts" id="event-facts">
    <dt>Event</dt><dd><span class="muted"><?cs var:Event.EventGroup ?></span> <?cs var:Event.EventLabel ?> <code class="muted"><?cs var:Event.EventId ?></code></dd>
    <dt>Event id</dt><dd><code id="event-uid"><?cs var:Event.Uid ?></code></dd>
    <dt>Object ID</dt><dd><?cs if:Event.ObjectId ?><?cs var:Event.ObjectId ?><?cs else ?><span class="muted">none</span><?cs /if ?></dd>
    <dt>First execution (UTC)</dt><dd><?cs var:Event.First ?></dd>
  </dl>
  <?cs if:Event.Capped ?><p class="alert alert-warn">Only the first executions of this event are shown.</p><?cs /if ?>
</section>

<section class="card chain" id="chain" aria-labelledby="chain-title">
  <h2 id="chain-title">The chain, in the order it ran (priority order)</h2>
  <?cs if:Event.ChainCount == 0 ?><p class="muted" id="chain-empty">No dispatch of this event is logged (only the executions below: a test, or rows already purged).</p><?cs /if ?>
  <ol class="chain-steps">
  <?cs each:s = Chain ?>
    <li class="chain-step" id="step-<?cs var:s.Id ?>" data-handler="<?cs var:s.HandlerId ?>" data-verdict="<?cs var:s.Verdict ?>">
      <h2><?cs call:verdict_badge(s.Verdict, s.ForbidReason) ?> <?cs var:s.HandlerName ?><?cs if:?s.HandlerId ?> <span class="muted">#<?cs var:s.HandlerId ?></span><?cs /if ?>
        <span class="spacer"></span><span class="muted"><?cs call:step_code(s) ?> &middot; <?cs var:s.Duration ?></span>
        <a href="/logs/<?cs var:url_escape(s.Id) ?>">execution #<?cs var:s.Id ?></a></h2>
      <?cs if:s.Verdict == "forbidden" ?><p class="forbid-reason">Forbidden<?cs if:s.ForbidReason ?>: <strong><?cs var:s.ForbidReason ?></strong><?cs else ?> <span class="muted">(no reason given)</span><?cs /if ?></p><?cs /if ?>
      <?cs if:s.Error ?><p class="error-text"><?cs var:s.Error ?></p><?cs /if ?>
      <?cs if:s.Verdict == "modified" ?>
      <?cs if:s.Changes ?><p class="changes">Changed: <code><?cs var:s.Changes ?></code> <span class="muted">(+ added, ~ changed, - removed)</span></p><?cs /if ?>
      <div class="before-after">
        <div><h3>Data before</h3><pre class="code step-before"><?cs var:s.Before ?></pre></div>
        <div><h3>Data after</h3><?cs if:?s.After ?><pre class="code step-after"><?cs var:s.After ?></pre><?cs else ?><p class="muted">Not readable (the reply was cut).</p><?cs /if ?></div>
      </div>
      <?cs /if ?>
    </li>
    <?cs each:k = s.Skipped ?>
    <li class="chain-step skipped" data-handler="<?cs var:k.Id ?>" data-verdict="skipped">
      <h2><span class="verdict verdict-">&#8856; Skipped</span> <?cs if:k.Name ?><?cs var:k.Name ?><?cs else ?><span class="muted">deleted handler</span><?cs /if ?> <span class="muted">#<?cs var:k.Id ?></span></h2>
      <p class="skipped-why">skipped: forbidden by #<?cs var:s.HandlerId ?></p>
    </li>
    <?cs /each ?>
  <?cs /each ?>
  </ol>
</section>

<?cs if:Event.LaterCount > 0 ?>
<section class="card" id="later" aria-labelledby="later-title">
  <h2 id="later-title">Other executions of this event</h2>
  <table class="grid labelled">
    <thead><tr><th class="num">ID</th><th>Verdict</th><th>Date (UTC)</th><th>Handler</th><th>Trigger</th><th>Code</th><th class="num">Duration</th></tr></thead>
    <tbody>
    <?cs each:s = Later ?>
      <tr>
        <td class="num" data-label="ID"><a href="/logs/<?cs var:url_escape(s.Id) ?>">#<?cs var:s.Id ?></a></td>
        <td data-label="Verdict"><?cs call:verdict_badge(s.Verdict, s.ForbidReason) ?></td>
        <td class="date" data-label="Date"><?cs var:s.Date ?></td>
        <td data-label="Handler"><?cs var:s.HandlerName ?><?cs if:?s.HandlerId ?> <span class="muted">#<?cs var:s.HandlerId ?></span><?cs /if ?></td>
        <td data-label="Trigger"><?cs var:s.Trigger ?> <?cs var:s.Attempt ?></td>
        <td data-label="Code"><?cs call:step_code(s) ?></td>
        <td class="num" data-label="Duration"><?cs var:s.Duration ?></td>
      </tr>
    <?cs /each ?>
    </tbody>
  </table>
</section>
<?cs /if ?>
<?cs include:"footer.cs" ?>
