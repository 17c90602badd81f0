// otpreset's "forgot password" page: send a code by SMS (POST), then reset the
// password with it (PUT), both on LoginRadius's
// /identity/v2/auth/password/otp endpoint. Plain browser JavaScript, no
// build step; configured by <meta name="otpreset-..."> tags (see doc.go).
"use strict";

(function () {
  function meta(name) {
    var el = document.querySelector('meta[name="otpreset-' + name + '"]');
    return el ? el.getAttribute("content") || "" : "";
  }

  var config = {
    apiKey: meta("apikey"),
    endpoint: meta("endpoint") || "/identity/v2/auth/password/otp",
    captcha: {
      provider: meta("captcha-provider"),
      siteKey: meta("captcha-sitekey"),
      action: meta("captcha-action") || "password_reset",
      script: meta("captcha-script"),
    },
  };

  var $ = function (id) { return document.getElementById(id); };
  var ui = {
    sendForm: $("send-form"),
    resetForm: $("reset-form"),
    phone: $("phone"),
    otp: $("otp"),
    password: $("password"),
    username: $("username"),
    showPassword: $("show-password"),
    resetHint: $("reset-hint"),
    resend: $("resend"),
    changePhone: $("change-phone"),
    done: $("done"),
    error: $("error"),
    errorMessage: $("error-message"),
    errorDescription: $("error-description"),
    errorList: $("error-list"),
    status: $("status"),
  };

  // ---- Messages -------------------------------------------------------

  function setStatus(text) {
    ui.status.textContent = text;
  }

  // clearError hides the error box and unmarks every field.
  function clearError() {
    ui.error.hidden = true;
    ui.errorMessage.textContent = "";
    ui.errorDescription.textContent = "";
    ui.errorList.replaceChildren();
    [ui.phone, ui.otp, ui.password].forEach(function (f) {
      f.removeAttribute("aria-invalid");
      var by = (f.getAttribute("aria-describedby") || "").split(" ").filter(function (id) { return id && id !== "error"; });
      f.setAttribute("aria-describedby", by.join(" "));
    });
  }

  // showError shows message, description and the items, marks field (if
  // any) invalid, ties it to the error text, and moves focus to it.
  function showError(message, description, items, field) {
    clearError();
    setStatus("");
    ui.error.hidden = false;
    ui.errorMessage.textContent = message;
    ui.errorDescription.textContent = description || "";
    (items || []).forEach(function (text) {
      var li = document.createElement("li");
      li.textContent = text;
      ui.errorList.appendChild(li);
    });
    if (field) {
      field.setAttribute("aria-invalid", "true");
      field.setAttribute("aria-describedby", ((field.getAttribute("aria-describedby") || "") + " error").trim());
      field.focus();
    }
  }

  // describe turns an otpreset/LoginRadius error answer into text: its
  // Message and Description (message/description in the 1409 answer), each
  // Errors[].ErrorMessage, and when to try again if the server said so.
  function describe(res, body) {
    var b = body && typeof body === "object" ? body : {};
    var code = b.ErrorCode || b.errorCode || 0;
    var message = b.Message || b.message || "";
    var description = b.Description || b.description || "";
    if (!message) {
      message = description || "The server answered " + res.status + ". Please try again later.";
      description = "";
    }
    var items = [];
    (Array.isArray(b.Errors) ? b.Errors : []).forEach(function (e) {
      if (e && e.ErrorMessage) {
        items.push(e.ErrorMessage);
      }
    });
    var until = b.Data && b.Data.LoginLockedTimeout;
    if (until && !isNaN(Date.parse(until))) {
      items.push("You can try again after " + new Date(until).toLocaleString() + ".");
    } else {
      var after = parseInt(res.headers.get("Retry-After") || "", 10);
      if (after > 0) {
        items.push("You can try again in " + (after < 120 ? after + " seconds" : Math.ceil(after / 60) + " minutes") + ".");
      }
    }
    return { code: code, message: message, description: description, items: items };
  }

  // fieldFor picks the field an error is about, to mark it and focus it.
  function fieldFor(code, step) {
    switch (code) {
      case 1096: case 1076: case 1043:
        return ui.phone;
      case 1134: case 1315: case 1089:
        return ui.password;
      case 1409: case 1067: case 1068: case 1069: case 1070: case 908:
        return step === "reset" ? ui.otp : ui.phone;
    }
    return step === "reset" ? ui.otp : ui.phone;
  }

  // ---- The API --------------------------------------------------------

  // call sends one JSON request to the endpoint. It resolves to
  // {ok, res, body}; it rejects only when the server could not be reached.
  function call(method, fields) {
    var url = config.endpoint + (config.endpoint.indexOf("?") < 0 ? "?" : "&") + "apikey=" + encodeURIComponent(config.apiKey);
    return fetch(url, {
      method: method,
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify(fields),
      credentials: "same-origin",
      cache: "no-store",
    }).then(function (res) {
      return res.text().then(function (text) {
        var body = null;
        try { body = text ? JSON.parse(text) : null; } catch (e) { body = null; }
        return { ok: res.ok && body !== null && body.IsPosted === true, res: res, body: body };
      });
    });
  }

  // ---- Captcha hook ---------------------------------------------------
  //
  // Off unless <meta name="otpreset-captcha-provider"> names a provider. Each
  // form has a [data-captcha-slot]; widget providers render one widget per
  // slot. token(form) resolves to the fields to add to the request body.

  var captcha = (function () {
    var c = config.captcha;
    if (!c.provider || !c.siteKey) {
      return { token: function () { return Promise.resolve({}); }, reset: function () {} };
    }
    var widgets = new Map(); // slot element -> widget id
    var loaded = new Promise(function (resolve, reject) {
      var src = c.script;
      var params = [];
      if (c.provider === "recaptcha" || c.provider === "hcaptcha" || c.provider === "turnstile") {
        params.push("onload=otpresetCaptchaLoaded", "render=explicit");
      } else if (c.provider === "recaptcha-v3") {
        params.push("onload=otpresetCaptchaLoaded", "render=" + encodeURIComponent(c.siteKey));
      }
      window.otpresetCaptchaLoaded = function () { resolve(); };
      if (params.length) {
        src += (src.indexOf("?") < 0 ? "?" : "&") + params.join("&");
      }
      var s = document.createElement("script");
      s.src = src;
      s.async = true;
      s.onerror = function () { reject(new Error("captcha script did not load")); };
      if (!params.length) { // Tencent: no onload parameter
        s.onload = function () { resolve(); };
      }
      document.head.appendChild(s);
    });

    var api = {
      recaptcha: function () { return window.grecaptcha; },
      hcaptcha: function () { return window.hcaptcha; },
      turnstile: function () { return window.turnstile; },
    }[c.provider];
    var field = {
      recaptcha: "g-recaptcha-response",
      "recaptcha-v3": "g-recaptcha-response",
      hcaptcha: "h-captcha-response",
      turnstile: "cf-turnstile-response",
    }[c.provider];

    if (api) {
      loaded.then(function () {
        document.querySelectorAll("[data-captcha-slot]").forEach(function (slot) {
          slot.hidden = false;
          var opts = { sitekey: c.siteKey };
          if (c.provider === "turnstile") {
            opts.action = c.action;
          }
          widgets.set(slot, api().render(slot, opts));
        });
      }, function () {});
    }

    function unavailable() {
      return new Error("The security check could not be loaded. Please reload the page and try again.");
    }

    return {
      token: function (form) {
        return loaded.catch(function () { throw unavailable(); }).then(function () {
          if (c.provider === "recaptcha-v3") {
            return new Promise(function (resolve, reject) {
              window.grecaptcha.ready(function () {
                window.grecaptcha.execute(c.siteKey, { action: c.action }).then(function (t) {
                  var f = {}; f[field] = t; resolve(f);
                }, function () { reject(unavailable()); });
              });
            });
          }
          if (c.provider === "qq") {
            return new Promise(function (resolve, reject) {
              var tc = new window.TencentCaptcha(c.siteKey, function (res) {
                if (res && res.ret === 0 && res.ticket) {
                  resolve({ qq_captcha_ticket: res.ticket, qq_captcha_randstr: res.randstr });
                } else {
                  reject(new Error("Please complete the security check to continue."));
                }
              }, {});
              tc.show();
            });
          }
          var slot = form.querySelector("[data-captcha-slot]");
          var id = widgets.get(slot);
          var t = id === undefined ? "" : api().getResponse(id);
          if (!t) {
            throw new Error("Please complete the security check to continue.");
          }
          var f = {}; f[field] = t;
          return f;
        });
      },
      // reset clears a form's widget: tokens are single use.
      reset: function (form) {
        var id = widgets.get(form.querySelector("[data-captcha-slot]"));
        if (api && id !== undefined && api()) {
          api().reset(id);
        }
      },
    };
  })();

  // ---- WebOTP ---------------------------------------------------------
  //
  // Where the browser supports it (Chrome on Android), fill the code from
  // the SMS. Feature-detected; any failure is silent: the user types it.

  var otpAbort = null;

  function listenForCode() {
    stopListening();
    if (!("OTPCredential" in window) || !navigator.credentials || !window.AbortController) {
      return;
    }
    otpAbort = new AbortController();
    navigator.credentials.get({ otp: { transport: ["sms"] }, signal: otpAbort.signal }).then(function (otp) {
      if (otp && otp.code && !ui.resetForm.hidden) {
        ui.otp.value = otp.code;
        setStatus("The code was filled in from the SMS.");
        ui.password.focus();
      }
    }).catch(function () {});
  }

  function stopListening() {
    if (otpAbort) {
      otpAbort.abort();
      otpAbort = null;
    }
  }

  // ---- Steps ----------------------------------------------------------

  var busy = false;

  function setBusy(form, on) {
    busy = on;
    form.setAttribute("aria-busy", on ? "true" : "false");
    form.querySelectorAll("button").forEach(function (b) { b.disabled = on; });
  }

  function showStep(step) {
    ui.sendForm.hidden = step !== "send";
    ui.resetForm.hidden = step !== "reset";
    ui.done.hidden = step !== "done";
  }

  var sentTo = "";

  // sendCode asks the server to send a code; form is the form whose captcha
  // widget vouches for the request.
  function sendCode(form) {
    var phone = (form === ui.sendForm ? ui.phone.value : sentTo).trim();
    if (!phone) {
      showError("Please enter your phone number.", "", [], ui.phone);
      return;
    }
    clearError();
    setBusy(form, true);
    setStatus("Sending the code…");
    var spent = false; // a captcha token is good for one request
    captcha.token(form).then(function (extra) {
      spent = true;
      return call("POST", Object.assign({ phone: phone }, extra)).then(function (r) {
        if (!r.ok) {
          var d = describe(r.res, r.body);
          showError(d.message, d.description, d.items, form === ui.sendForm ? fieldFor(d.code, "send") : ui.otp);
          return;
        }
        sentTo = phone;
        ui.username.value = phone;
        ui.resetHint.textContent = "If " + phone + " belongs to an account, we sent it a code. It is valid for a few minutes.";
        showStep("reset");
        ui.otp.value = "";
        setStatus(form === ui.sendForm ? "Code sent. Enter it below with your new password." : "A new code was sent.");
        ui.otp.focus();
        listenForCode();
      });
    }).catch(function (err) {
      showError(err && err.name === "TypeError" ? "Could not reach the server. Check your connection and try again." : String(err && err.message || err), "", [], null);
    }).finally(function () {
      if (spent) { captcha.reset(form); }
      setBusy(form, false);
    });
  }

  function resetPassword() {
    var otp = ui.otp.value.trim();
    var password = ui.password.value;
    if (!otp) {
      showError("Please enter the code from the SMS.", "", [], ui.otp);
      return;
    }
    if (!password) {
      showError("Please choose a new password.", "", [], ui.password);
      return;
    }
    clearError();
    stopListening();
    setBusy(ui.resetForm, true);
    setStatus("Resetting your password…");
    var spent = false;
    captcha.token(ui.resetForm).then(function (extra) {
      spent = true;
      return call("PUT", Object.assign({ phone: sentTo, otp: otp, Password: password }, extra)).then(function (r) {
        if (!r.ok) {
          var d = describe(r.res, r.body);
          showError(d.message, d.description, d.items, fieldFor(d.code, "reset"));
          return;
        }
        // The answer holds a new session (access_token); this page does not
        // sign the user in, so it keeps nothing of it.
        ui.password.value = "";
        ui.otp.value = "";
        showStep("done");
        setStatus("");
        ui.done.focus();
      });
    }).catch(function (err) {
      showError(err && err.name === "TypeError" ? "Could not reach the server. Check your connection and try again." : String(err && err.message || err), "", [], null);
    }).finally(function () {
      if (spent) { captcha.reset(ui.resetForm); }
      setBusy(ui.resetForm, false);
    });
  }

  ui.sendForm.addEventListener("submit", function (e) {
    e.preventDefault();
    if (!busy) { sendCode(ui.sendForm); }
  });
  ui.resetForm.addEventListener("submit", function (e) {
    e.preventDefault();
    if (!busy) { resetPassword(); }
  });
  ui.resend.addEventListener("click", function () {
    if (!busy) { sendCode(ui.resetForm); }
  });
  ui.changePhone.addEventListener("click", function () {
    stopListening();
    clearError();
    setStatus("");
    showStep("send");
    ui.phone.focus();
  });
  ui.showPassword.addEventListener("change", function () {
    ui.password.type = ui.showPassword.checked ? "text" : "password";
  });
  // Typing clears the mark on a field the last error was about.
  [ui.phone, ui.otp, ui.password].forEach(function (f) {
    f.addEventListener("input", function () { f.removeAttribute("aria-invalid"); });
  });

  if (!config.apiKey) {
    showError("This page is not configured: the otpreset-apikey meta tag is empty.", "", [], null);
    setBusy(ui.sendForm, true);
  }
  document.documentElement.classList.add("js");
})();
