<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<?cs if:Page.Refresh ?><meta http-equiv="refresh" content="<?cs var:Page.Refresh ?>">
<?cs /if ?><title><?cs var:Page.Title ?> — Provisioning API</title>
<link rel="stylesheet" href="/static/css/panel.css">
<link rel="icon" href="/static/img/favicon.svg" type="image/svg+xml">
</head>
<body>
<header class="topbar">
  <div class="brand">Billing <span>Integration</span></div>
  <?cs if:User.Name ?>
  <nav class="mainnav" aria-label="Main">
    <a href="/handlers"<?cs if:Page.Section == "handlers" ?> class="active"<?cs /if ?>>Provisioning API</a>
    <a href="/logs"<?cs if:Page.Section == "logs" ?> class="active"<?cs /if ?>>Execution Logs</a>
    <a href="/scheduler"<?cs if:Page.Section == "scheduler" ?> class="active"<?cs /if ?>>Task Scheduler</a>
    <?cs if:User.IsAdmin == 1 ?><a href="/apikeys"<?cs if:Page.Section == "apikeys" ?> class="active"<?cs /if ?>>API keys</a><?cs /if ?>
  </nav>
  <div class="userbox">
    <span class="user" title="Role: <?cs var:User.Role ?>"><?cs var:User.Name ?> <small class="role role-<?cs var:User.Role ?>"><?cs var:User.Role ?></small></span>
    <form method="post" action="/logout" class="inline">
      <input type="hidden" name="csrf_token" value="<?cs var:CSRF.Token ?>">
      <button type="submit" class="link">Log out</button>
    </form>
  </div>
  <?cs /if ?>
</header>
<main class="content">
