// Copy buttons beside the share fields: progressive enhancement; the fields work without it.
(function () {
  "use strict";
  if (!navigator.clipboard || !window.isSecureContext) {
    return; // no clipboard here: the fields stay selectable, which is enough
  }
  var status = document.createElement("p");
  status.className = "visually-hidden";
  status.setAttribute("role", "status");
  document.addEventListener("DOMContentLoaded", function () {
    document.body.appendChild(status);
    document.querySelectorAll("[data-copy]").forEach(function (field) {
      var label = document.querySelector('label[for="' + field.id + '"]');
      var button = document.createElement("button");
      button.type = "button";
      button.className = "secondary copy";
      button.textContent = "Copy";
      var name = document.createElement("span");
      name.className = "visually-hidden";
      name.textContent = " " + (label ? label.textContent : "");
      button.appendChild(name);
      button.addEventListener("click", function () {
        navigator.clipboard.writeText(field.value).then(function () {
          status.textContent = "Copied" + (label ? ": " + label.textContent : ".");
        }, function () {
          field.select();
          status.textContent = "Select the text and copy it with your keyboard.";
        });
      });
      field.insertAdjacentElement("afterend", button);
    });
  });
}());
