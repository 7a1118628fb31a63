    <div class="field">
      <label for="f-verdict">Verdict</label>
      <select id="f-verdict" name="verdict"<?cs if:Errors.Verdict ?> aria-invalid="true" aria-describedby="e-verdict"<?cs /if ?>>
        <option value="">Any</option>
        <option value="unchanged"<?cs if:Filter.Verdict == "unchanged" ?> selected<?cs /if ?>>Unchanged</option>
        <option value="modified"<?cs if:Filter.Verdict == "modified" ?> selected<?cs /if ?>>Modified</option>
        <option value="forbidden"<?cs if:Filter.Verdict == "forbidden" ?> selected<?cs /if ?>>Forbidden</option>
        <option value="failed"<?cs if:Filter.Verdict == "failed" ?> selected<?cs /if ?>>Failed</option>
      </select>
      <?cs if:Errors.Verdict ?><p class="field-error" id="e-verdict"><?cs var:Errors.Verdict ?></p><?cs /if ?>
    </div>
