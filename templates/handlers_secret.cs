<?cs include:"header.cs" ?>
<section class="card narrow-wide">
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
  <p><a class="btn btn-primary" href="<?cs var:Secret.ListUrl ?>" id="secret-done">Done, back to the list</a></p>
</section>
<?cs include:"footer.cs" ?>
