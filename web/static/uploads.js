/* The upload form of /uploads: create the batch, then send its files with tus-js-client.
 * Without JavaScript the form still creates the batch (the files then go with `breedhub upload`). */
(function () {
  "use strict";
  var form = document.getElementById("upload-form");
  if (!form || !window.tus || !window.fetch) { return; }
  var filesInput = document.getElementById("batch-files");
  var out = document.getElementById("upload-progress");
  var AT_ONCE = 3;

  function line(text) {
    var p = document.createElement("p");
    p.textContent = text;
    out.appendChild(p);
    return p;
  }

  function baseName(name) { return name.split("/").pop(); }

  function localFile(name, chosen) {
    for (var i = 0; i < chosen.length; i++) {
      var f = chosen[i];
      if ((f.webkitRelativePath && f.webkitRelativePath.endsWith(name)) || f.name === name) { return f; }
    }
    for (var j = 0; j < chosen.length; j++) {
      if (chosen[j].name === baseName(name)) { return chosen[j]; }
    }
    return null;
  }

  function showProblems(problems) {
    line(problems.length + " problem(s); nothing was kept:");
    problems.forEach(function (p) {
      line("row " + (p.row || "–") + (p.column ? ", " + p.column : "") + ": " + p.message);
    });
  }

  function send(batch, chosen) {
    var queue = batch.files.slice();
    var running = 0, failed = 0, left = queue.length;
    function next() {
      if (left === 0) {
        line(failed ? failed + " file(s) failed: send them again, or use `breedhub upload`." : "All files sent.");
        window.setTimeout(function () { window.location.href = batch.page; }, failed ? 4000 : 800);
        return;
      }
      while (running < AT_ONCE && queue.length) { start(queue.shift()); }
    }
    function start(entry) {
      var file = localFile(entry.filename, chosen);
      var status = line(entry.filename + ": waiting");
      if (!file) {
        status.textContent = entry.filename + ": not among the chosen files (row " + entry.row + ")";
        failed++; left--; next(); return;
      }
      running++;
      var upload = new window.tus.Upload(file, {
        endpoint: batch.endpoint,
        headers: { Authorization: "Bearer " + batch.token },
        metadata: { filename: entry.filename, batch: String(batch.id), sha256: entry.sha256 },
        chunkSize: 64 * 1024 * 1024,
        retryDelays: [0, 1000, 3000, 10000],
        removeFingerprintOnSuccess: true,
        onProgress: function (sent, total) {
          status.textContent = entry.filename + ": " + (total ? Math.round(100 * sent / total) : 0) + " %";
        },
        onError: function (err) {
          status.textContent = entry.filename + ": failed (" + err + ")";
          failed++; running--; left--; next();
        },
        onSuccess: function () {
          status.textContent = entry.filename + ": sent";
          running--; left--; next();
        }
      });
      upload.findPreviousUploads().then(function (previous) {
        if (previous.length) { upload.resumeFromPreviousUpload(previous[0]); }
        upload.start();
      });
    }
    next();
  }

  form.addEventListener("submit", function (event) {
    var chosen = filesInput ? filesInput.files : [];
    if (!chosen || chosen.length === 0) { return; } /* no files: the plain form */
    event.preventDefault();
    out.textContent = "";
    line("Checking the sample sheet…");
    fetch(form.action, {
      method: "POST", body: new FormData(form), credentials: "same-origin",
      headers: { Accept: "application/json" }
    }).then(function (resp) {
      return resp.json().then(function (body) { return { status: resp.status, body: body }; });
    }).then(function (r) {
      if (r.status === 201) {
        line("Batch " + r.body.id + " created; sending " + r.body.files.length + " file(s).");
        send(r.body, chosen);
      } else {
        showProblems(r.body.problems || [{ row: null, column: "", message: (r.body.error || {}).message || "refused" }]);
      }
    }).catch(function (err) { line("The batch could not be created: " + err); });
  });
}());
