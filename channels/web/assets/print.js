// Shows the print button of the receipt page (hidden without JavaScript).
document.addEventListener("DOMContentLoaded", function () {
  var b = document.getElementById("print");
  if (!b) { return; }
  b.hidden = false;
  var hint = document.querySelector(".noscript-hint");
  if (hint) { hint.hidden = true; }
  b.addEventListener("click", function () { window.print(); });
});
