<?cs include:"header.cs" ?>
<section class="card">
  <div class="card-head">
    <h1>Provisioning API</h1>
    <span class="count" id="result-count"><?cs var:List.Count ?> handler<?cs if:List.Count != 1 ?>s<?cs /if ?></span>
  </div>
  <table class="grid" id="handlers">
    <thead>
      <tr>
        <th class="num">ID</th><th class="num">Priority</th><th>Name</th><th>Event</th><th>Handler</th><th class="icon">Status</th>
      </tr>
    </thead>
    <tbody>
    <?cs each:h = Handlers ?>
      <tr data-id="<?cs var:h.Id ?>">
        <td class="num"><?cs var:h.Id ?></td>
        <td class="num"><?cs var:h.Priority ?></td>
        <td class="name"><?cs var:h.Name ?></td>
        <td><span class="muted"><?cs var:h.EventGroup ?></span> <?cs var:h.EventLabel ?></td>
        <td><span class="badge badge-<?cs var:h.TaskType ?>"><?cs if:h.TaskType == "http" ?>HTTP<?cs else ?>script<?cs /if ?></span> <code><?cs var:h.Task ?></code></td>
        <td class="icon"><span class="status status-<?cs var:h.Status ?>" title="<?cs var:h.Status ?>"><?cs var:h.Status ?></span></td>
      </tr>
    <?cs /each ?>
    <?cs if:List.Count == 0 ?>
      <tr class="empty"><td colspan="6">No handlers yet.</td></tr>
    <?cs /if ?>
    </tbody>
  </table>
</section>
<?cs include:"footer.cs" ?>
