<?cs # Bulk recovery offer on the Execution Logs (page_bulk.c): admins, a view of failed executions since a time. ?>
<?cs if:Bulk.Offer ?>
  <div class="alert alert-info bulk-offer" id="bulk-offer">
    <?cs if:Bulk.CountUnknown ?>
    <span>Failed executions shown may not have been delivered since; the next page counts them (the last attempt of each delivery failed).</span>
    <a class="btn btn-primary btn-small" id="bulk-redeliver" href="/logs/redeliver?status=fail&amp;handler=<?cs var:url_escape(Bulk.HandlerId) ?>&amp;event=<?cs var:url_escape(Bulk.Event) ?>&amp;from=<?cs var:url_escape(Bulk.Since) ?>&amp;to=<?cs var:url_escape(Bulk.Until) ?>">Redeliver the failed executions shown&hellip;</a>
    <?cs elif:Bulk.Count > 0 ?>
    <span><strong><?cs if:Bulk.CountMore ?>More than <?cs /if ?><?cs var:Bulk.Count ?></strong> failed execution<?cs if:Bulk.Count != 1 ?>s<?cs /if ?> shown <?cs if:Bulk.Count == 1 ?>has<?cs else ?>have<?cs /if ?> not been delivered since (the last attempt of each delivery failed).</span>
    <a class="btn btn-primary btn-small" id="bulk-redeliver" href="/logs/redeliver?status=fail&amp;handler=<?cs var:url_escape(Bulk.HandlerId) ?>&amp;event=<?cs var:url_escape(Bulk.Event) ?>&amp;from=<?cs var:url_escape(Bulk.Since) ?>&amp;to=<?cs var:url_escape(Bulk.Until) ?>"><?cs if:Bulk.CountMore ?>Redeliver the failed executions shown&hellip;<?cs else ?>Redeliver the <?cs var:Bulk.Count ?> failed execution<?cs if:Bulk.Count != 1 ?>s<?cs /if ?> shown&hellip;<?cs /if ?></a>
    <?cs else ?>
    <span id="bulk-none">Every failed delivery shown has been delivered or tried again since: nothing to redeliver in bulk.</span>
    <?cs /if ?>
  </div>
<?cs elif:Bulk.Unavailable ?>
  <p class="hint" id="bulk-unavailable">Bulk redelivery: <?cs var:Bulk.Unavailable ?></p>
<?cs /if ?>
