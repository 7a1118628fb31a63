<?cs include:"header.cs" ?>
<section class="card narrow-wide">
  <?cs if:Secret.Value ?>
  <h1>Handler #<?cs var:Secret.Id ?> <?cs var:Secret.Done ?></h1>
  <p><strong><?cs var:Secret.Name ?></strong> now signs its requests: receivers check the signature header
    <?cs if:Secret.Scheme == "standard" ?>(Standard Webhooks: <code>webhook-signature</code>, HMAC-SHA256 over
    <code>id.timestamp.body</code>)<?cs else ?>(<code>X-Prov-Signature</code>, HMAC-SHA256 over
    <code>timestamp.body</code>)<?cs /if ?> with this secret.</p>
  <?cs if:Secret.OldHours > 0 ?><p id="secret-overlap">The previous secret keeps signing too, next to this one, for
    <?cs var:Secret.OldHours ?> hours from now: switch your receivers within that time.</p><?cs /if ?>
  <div class="alert alert-warn" role="status" id="secret-once">
    <strong>Copy the signing secret now: it is not shown again.</strong>
    <pre class="secret" id="secret-value"><?cs var:Secret.Value ?></pre>
  </div>
  <p>Changes take effect after the <strong>Cache Manager</strong> restart (<a href="/scheduler">Task Scheduler</a>).</p>
  <?cs else ?>
  <h1>Handler #<?cs var:Secret.Id ?>: signing secret already shown</h1>
  <p class="alert alert-info" role="status" id="secret-shown">The signing secret of <strong><?cs var:Secret.Name ?></strong>
    was already shown: a secret is shown once, right after the save that made it, and is kept only where it signs.
    If it was not copied, generate a new one in <a href="/handlers/<?cs var:Secret.Id ?>">the handler's form</a>.</p>
  <?cs /if ?>
  <p><a class="btn btn-primary" href="<?cs var:Secret.ListUrl ?>" id="secret-done"><?cs if:Secret.Value ?>Done, back<?cs else ?>Back<?cs /if ?> to the list</a></p>
</section>
<?cs include:"footer.cs" ?>
