<?cs include:"header.cs" ?>
<section class="card narrow login">
  <h1>Log in</h1>
  <p class="hint">Integration &rsaquo; Provisioning API</p>
  <?cs if:Login.Error ?><p class="alert alert-error" role="alert" id="login-error"><?cs var:Login.Error ?></p><?cs /if ?>
  <form method="post" action="/login" class="form">
    <input type="hidden" name="csrf_token" value="<?cs var:CSRF.Token ?>">
    <label for="username">User name</label>
    <input id="username" name="username" type="text" autocomplete="username" maxlength="64" value="<?cs var:Login.Username ?>" required autofocus>
    <label for="password">Password</label>
    <input id="password" name="password" type="password" autocomplete="current-password" maxlength="1024" required>
    <button type="submit" class="btn btn-primary">Log in</button>
  </form>
</section>
<?cs include:"footer.cs" ?>
