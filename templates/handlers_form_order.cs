<div class="field<?cs if:Form.Errors.ordered ?> has-error<?cs /if ?>">
        <span class="label" id="l-ordered">Per-object order</span>
        <div class="choices" role="radiogroup" aria-labelledby="l-ordered"<?cs call:invalid("ordered") ?>>
          <label><input type="radio" name="ordered" value="1" id="f-ordered-on"<?cs if:Form.Values.ordered != "0" ?> checked<?cs /if ?>> on</label>
          <label><input type="radio" name="ordered" value="0" id="f-ordered-off"<?cs if:Form.Values.ordered == "0" ?> checked<?cs /if ?>> off</label>
        </div>
        <p class="hint" id="ordered-hint">On: while a delivery for an object is failing or queued, later events for that object wait behind it. Off: they are delivered at once.</p>
        <?cs call:field_error("ordered") ?>
      </div>
