<?cs set:Page.Title = Error.Title ?><?cs include:"header.cs" ?>
<section class="card narrow error-page">
  <h1><?cs var:Error.Status ?> <?cs var:Error.Title ?></h1>
  <p class="message" id="error-message"><?cs var:Error.Message ?></p>
  <p><a href="/">Back to the panel</a></p>
</section>
<?cs include:"footer.cs" ?>
