// taperwise web: keyboard-fast instrument entry and timeline charts. No build step.
(function () {
  "use strict";

  function itemSets(form) {
    return Array.prototype.slice.call(form.querySelectorAll("fieldset[data-item]"));
  }

  function focusItem(fieldset) {
    if (!fieldset) return;
    var target = fieldset.querySelector("input[type=radio]:checked") ||
      fieldset.querySelector("input[type=radio]");
    if (target) {
      target.focus();
      fieldset.scrollIntoView({ block: "nearest" });
    }
  }

  document.addEventListener("keydown", function (event) {
    var form = event.target.closest && event.target.closest("form[data-keyboard-entry]");
    if (!form || event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.target.tagName === "SELECT") return;
    if (event.key === "Enter") {
      event.preventDefault();
      // After a save the form is cleared; Enter on a form with nothing scored saves nothing,
      // so a second Enter cannot store the same assessment twice.
      if (!form.querySelector("input[type=radio]:checked")) {
        showNothingToSave(form);
        return;
      }
      form.requestSubmit();
      return;
    }
    if (!/^[0-9]$/.test(event.key)) return;
    var fieldset = event.target.closest("fieldset[data-item]");
    if (!fieldset) return;
    event.preventDefault();
    var radio = fieldset.querySelector('input[type=radio][value="' + event.key + '"]');
    if (!radio) {
      fieldset.classList.add("bad-key");
      setTimeout(function () { fieldset.classList.remove("bad-key"); }, 400);
      return;
    }
    radio.checked = true;
    radio.dispatchEvent(new Event("change", { bubbles: true }));
    var sets = itemSets(form);
    var next = sets[sets.indexOf(fieldset) + 1];
    if (next) {
      focusItem(next);
    } else {
      var save = form.querySelector("button[type=submit]");
      if (save) save.focus();
    }
  });

  function showNothingToSave(form) {
    var total = form.querySelector("#running-total");
    if (total) total.innerHTML = '<span class="muted" data-nothing-to-save>nothing scored: nothing to save</span>';
  }

  // A successful save clears the keyboard form (the saved record stays shown in #result) and puts
  // the focus back on the first item, ready for the next administration.
  document.addEventListener("htmx:afterRequest", function (event) {
    var form = event.detail && event.detail.elt;
    if (!form || form.tagName !== "FORM" || !form.hasAttribute("data-keyboard-entry")) return;
    if (!event.detail.successful) return;
    form.reset();
    var total = form.querySelector("#running-total");
    if (total) total.innerHTML = '<span class="muted">saved; form cleared for the next entry</span>';
    focusItem(itemSets(form)[0]);
  });

  function renderCharts(root) {
    if (typeof vegaEmbed === "undefined") return;
    (root || document).querySelectorAll("div.chart[data-spec]").forEach(function (el) {
      var source = document.getElementById(el.getAttribute("data-spec"));
      if (!source || el.dataset.rendered) return;
      el.dataset.rendered = "1";
      vegaEmbed(el, JSON.parse(source.textContent), { actions: false, renderer: "svg" })
        .catch(function (err) { el.textContent = "chart failed: " + err; });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    renderCharts(document);
    var first = document.querySelector("form[data-keyboard-entry] fieldset[data-item]");
    if (first) focusItem(first);
  });
})();
