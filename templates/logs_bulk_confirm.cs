<?cs include:"header.cs" ?>
<section class="card narrow-wide" id="bulk-confirm">
  <h1><?cs if:Bulk.Count > 0 ?>Redeliver <?cs var:Bulk.Count ?> failed execution<?cs if:Bulk.Count != 1 ?>s<?cs /if ?>?<?cs else ?>Nothing to redeliver<?cs /if ?></h1>
  <dl class="facts">
    <dt>Handler</dt><dd><?cs if:Bulk.HandlerId ?>#<?cs var:Bulk.HandlerId ?><?cs else ?>all handlers<?cs /if ?></dd>
    <dt>Event</dt><dd><?cs if:Bulk.Event ?><?cs var:Bulk.Event ?><?cs else ?>all events<?cs /if ?></dd>
    <dt>Since (UTC)</dt><dd><?cs var:Bulk.Since ?></dd>
    <dt>Until (UTC)</dt><dd><?cs if:Bulk.Until ?><?cs var:Bulk.Until ?><?cs else ?>now (up to execution #<?cs var:Bulk.MaxLogId ?>)<?cs /if ?></dd>
    <dt>Executions</dt><dd id="bulk-count"><strong><?cs var:Bulk.Count ?></strong></dd>
  </dl>
  <?cs if:Bulk.Count > 0 ?>
  <p class="hint">The retry worker (<code>prov-worker</code>) sends each one again in the background, in log order per handler and object, with its original request and delivery id (trigger "manual"); each at most once for this request, even if it is asked for twice. Handlers must be in the published set. The progress page shows how far it got.</p>
  <form method="post" action="/logs/redeliver" class="form-actions">
    <input type="hidden" name="csrf_token" value="<?cs var:CSRF.Token ?>">
    <input type="hidden" name="status" value="fail">
    <input type="hidden" name="handler" value="<?cs var:Bulk.HandlerId ?>">
    <input type="hidden" name="event" value="<?cs var:Bulk.Event ?>">
    <input type="hidden" name="from" value="<?cs var:Bulk.Since ?>">
    <input type="hidden" name="to" value="<?cs var:Bulk.Until ?>">
    <input type="hidden" name="max_log_id" value="<?cs var:Bulk.MaxLogId ?>">
    <input type="hidden" name="expected" value="<?cs var:Bulk.Count ?>">
    <button type="submit" class="btn btn-primary" id="confirm-bulk">Redeliver <?cs var:Bulk.Count ?> execution<?cs if:Bulk.Count != 1 ?>s<?cs /if ?></button>
    <a class="btn" href="/logs?status=fail&amp;handler=<?cs var:url_escape(Bulk.HandlerId) ?>&amp;event=<?cs var:url_escape(Bulk.Event) ?>&amp;from=<?cs var:url_escape(Bulk.Since) ?>&amp;to=<?cs var:url_escape(Bulk.Until) ?>" id="cancel-bulk">Cancel</a>
  </form>
  <?cs else ?>
  <p class="hint">No failed execution in this range is waiting: each was delivered or tried again since.</p>
  <p><a class="btn" href="/logs?status=fail&amp;handler=<?cs var:url_escape(Bulk.HandlerId) ?>&amp;from=<?cs var:url_escape(Bulk.Since) ?>" id="cancel-bulk">Back to the Execution Logs</a></p>
  <?cs /if ?>
</section>
<?cs include:"footer.cs" ?>
