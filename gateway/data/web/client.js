// gateway web client: one WebSocket to /ws speaking the gateway.json
// messages (see gateway/frontends/messages.py), no dependencies.
"use strict";

(function () {
  const MAX_LINES = 2000;      // scrollback kept in the page
  const MAX_HISTORY = 100;     // input lines remembered for up/down
  const RETRY_MIN = 1000, RETRY_MAX = 30000;
  // The resume token of this tab's session: sessionStorage keeps it for
  // this tab and origin only, and forgets it when the tab closes.
  const RESUME_KEY = "gateway.resume";

  const output = document.getElementById("output");
  const input = document.getElementById("input");
  const form = document.getElementById("inputbar");
  const promptEl = document.getElementById("prompt");
  const statusEl = document.getElementById("status");
  const reconnectButton = document.getElementById("reconnect");

  let socket = null;
  let retryDelay = RETRY_MIN;
  let retryTimer = null;
  let closedByServer = false;
  let hidden = false;
  let resuming = false;    // a resume was asked for and not yet answered
  let heldBack = [];       // what arrived meanwhile (the login banner)
  let replaying = false;   // between the start and end of a replay
  const history = [];
  let historyIndex = 0;
  let draft = "";

  // ---- ANSI SGR rendering -------------------------------------------------

  const BASIC = [
    "#2e3436", "#cc3e3e", "#5fb34a", "#d4a82f", "#4f86d8", "#b35fc0", "#3fb3b3", "#c8ccd2",
    "#666d79", "#ff6e6e", "#8ee06e", "#ffd75f", "#7eb6ff", "#e48bf0", "#6ee6e6", "#ffffff",
  ];

  function color256(n) {
    if (n < 16) return BASIC[n];
    if (n < 232) {
      n -= 16;
      const level = (v) => (v === 0 ? 0 : 55 + v * 40);
      return `rgb(${level(Math.floor(n / 36))},${level(Math.floor(n / 6) % 6)},${level(n % 6)})`;
    }
    const grey = 8 + (n - 232) * 10;
    return `rgb(${grey},${grey},${grey})`;
  }

  function freshStyle() {
    return { fg: null, bg: null, b: false, d: false, i: false, u: false, s: false, inverse: false };
  }
  let style = freshStyle();

  // Apply one SGR parameter list to `style`; unknown codes are ignored.
  function applySGR(params) {
    const codes = params === "" ? [0] : params.split(/[;:]/).map((p) => (p === "" ? 0 : Number(p)));
    for (let k = 0; k < codes.length; k++) {
      const c = codes[k];
      if (c === 0) style = freshStyle();
      else if (c === 1) style.b = true;
      else if (c === 2) style.d = true;
      else if (c === 3) style.i = true;
      else if (c === 4) style.u = true;
      else if (c === 7) style.inverse = true;
      else if (c === 9) style.s = true;
      else if (c === 22) style.b = style.d = false;
      else if (c === 23) style.i = false;
      else if (c === 24) style.u = false;
      else if (c === 27) style.inverse = false;
      else if (c === 29) style.s = false;
      else if (c >= 30 && c <= 37) style.fg = BASIC[c - 30];
      else if (c >= 90 && c <= 97) style.fg = BASIC[c - 90 + 8];
      else if (c >= 40 && c <= 47) style.bg = BASIC[c - 40];
      else if (c >= 100 && c <= 107) style.bg = BASIC[c - 100 + 8];
      else if (c === 39) style.fg = null;
      else if (c === 49) style.bg = null;
      else if (c === 38 || c === 48) {
        let value = null;
        if (codes[k + 1] === 5 && k + 2 < codes.length) {
          value = color256(Math.min(255, codes[k + 2]));
          k += 2;
        } else if (codes[k + 1] === 2 && k + 4 < codes.length) {
          const [r, g, b] = codes.slice(k + 2, k + 5).map((v) => Math.min(255, v));
          value = `rgb(${r},${g},${b})`;
          k += 4;
        } else {
          break;
        }
        if (c === 38) style.fg = value; else style.bg = value;
      }
    }
  }

  const CONTROLS = /[\x00-\x08\x0b-\x1f\x7f]/g;

  function styledSpan(text) {
    const span = document.createElement("span");
    span.textContent = text.replace(CONTROLS, "");
    let fg = style.fg, bg = style.bg;
    if (style.inverse) { [fg, bg] = [bg || "var(--bg)", fg || "var(--fg)"]; }
    if (fg) span.style.color = fg;
    if (bg) span.style.backgroundColor = bg;
    for (const flag of ["b", "d", "i", "u", "s"]) if (style[flag]) span.classList.add(flag);
    return span;
  }

  // Escape sequences: CSI (ESC [ ... final byte) and OSC (ESC ] ... BEL/ST);
  // only SGR (final "m") changes anything, the rest is dropped.
  const ESCAPE = /\x1b\[([0-9;:?]*)([@-~])|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b./g;

  function renderInto(element, text) {
    let last = 0;
    ESCAPE.lastIndex = 0;
    let match;
    while ((match = ESCAPE.exec(text)) !== null) {
      if (match.index > last) element.appendChild(styledSpan(text.slice(last, match.index)));
      if (match[2] === "m") applySGR(match[1]);
      last = ESCAPE.lastIndex;
    }
    if (last < text.length) element.appendChild(styledSpan(text.slice(last)));
  }

  // ---- output -------------------------------------------------------------

  function atBottom() {
    return output.scrollHeight - output.scrollTop - output.clientHeight < 40;
  }

  function addLine(text, cls) {
    const follow = atBottom();
    const line = document.createElement("div");
    line.className = "line" + (cls ? " " + cls : "") + (replaying && !cls ? " replay" : "");
    if (cls) line.textContent = text; else renderInto(line, text);
    output.appendChild(line);
    while (output.childElementCount > MAX_LINES) output.removeChild(output.firstElementChild);
    if (follow) output.scrollTop = output.scrollHeight;
  }

  function showText(text) {
    for (const line of text.split("\n")) addLine(line);
  }

  function setPrompt(text) {
    promptEl.textContent = text;
  }

  function setHidden(on) {
    hidden = on;
    input.type = on ? "password" : "text";
    input.autocomplete = on ? "current-password" : "off";
    input.focus();
  }

  function setStatus(text, state) {
    statusEl.textContent = text;
    statusEl.className = state;
    reconnectButton.hidden = state !== "closed";
  }

  // ---- the connection -----------------------------------------------------

  function socketUrl() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    return `${scheme}//${location.host}/ws`;
  }

  function sendSize() {
    if (!socket || socket.readyState !== WebSocket.OPEN) return;
    const probe = document.createElement("span");
    probe.textContent = "M";
    output.appendChild(probe);
    const cell = probe.getBoundingClientRect();
    output.removeChild(probe);
    const width = Math.max(20, Math.min(1000, Math.floor(output.clientWidth / (cell.width || 8)) - 2));
    const height = Math.max(5, Math.min(1000, Math.floor(output.clientHeight / (cell.height || 16))));
    socket.send(JSON.stringify({ type: "size", width, height }));
  }

  // Storage may be refused (a browser's strict privacy settings): the page
  // then logs in each time, as without a token.
  function savedResume() {
    try { return JSON.parse(sessionStorage.getItem(RESUME_KEY)); } catch (e) { return null; }
  }

  function keepResume(value) {
    try {
      if (value) sessionStorage.setItem(RESUME_KEY, JSON.stringify(value));
      else sessionStorage.removeItem(RESUME_KEY);
    } catch (e) { /* not kept */ }
  }

  function handle(message) {
    if (resuming && (message.type === "text" || message.type === "prompt" || message.type === "echo")) {
      heldBack.push(message);
      return;
    }
    switch (message.type) {
      case "text": setPrompt(""); showText(message.text); break;
      case "prompt": setPrompt(message.text); break;
      case "echo": setHidden(!message.on); break;
      case "close":
        closedByServer = true;
        keepResume(null);
        if (message.reason) showText(message.reason);
        break;
      case "resume":
        // Logged in (or resumed): keep the new token; a resume drops the
        // login banner it held back.
        keepResume({ name: message.name, token: message.token });
        resuming = false;
        heldBack = [];
        break;
      case "error":
        if (resuming) {
          // The session is gone: log in as usual.
          resuming = false;
          keepResume(null);
          const held = heldBack;
          heldBack = [];
          held.forEach(handle);
        }
        addLine(`(${message.text})`, "notice");
        break;
      case "data":
        if (message.package === "Room.Info" && message.data && message.data.name) {
          document.title = `${message.data.name} · gateway`;
        } else if (message.package === "Char.Session.Replay" && message.data) {
          replaying = message.data.state === "start";
        }
        break;
    }
  }

  function connect() {
    clearTimeout(retryTimer);
    closedByServer = false;
    resuming = false;
    heldBack = [];
    replaying = false;
    setStatus("connecting…", "connecting");
    socket = new WebSocket(socketUrl(), ["gateway.json"]);
    socket.onopen = () => {
      retryDelay = RETRY_MIN;
      setStatus("connected", "connected");
      sendSize();
      const saved = savedResume();
      if (saved && saved.name && saved.token) {
        resuming = true;
        socket.send(JSON.stringify({ type: "resume", name: saved.name, token: saved.token }));
      }
      input.focus();
    };
    socket.onmessage = (event) => {
      let message;
      try { message = JSON.parse(event.data); } catch (e) { return; }
      handle(message);
    };
    socket.onclose = (event) => {
      socket = null;
      setPrompt("");
      setHidden(false);
      style = freshStyle();
      if (closedByServer) {
        setStatus("disconnected", "closed");
        addLine("Connection closed.", "notice");
      } else {
        const seconds = Math.round(retryDelay / 1000);
        setStatus(`connection lost; retrying in ${seconds}s`, "closed");
        addLine(`Connection lost${event.code === 1009 ? " (message too long)" : ""}; reconnecting in ${seconds}s.`, "notice");
        retryTimer = setTimeout(connect, retryDelay);
        retryDelay = Math.min(RETRY_MAX, retryDelay * 2);
      }
    };
  }

  // ---- input --------------------------------------------------------------

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value;
    if (!socket || socket.readyState !== WebSocket.OPEN) {
      addLine("Not connected.", "notice");
      return;
    }
    socket.send(JSON.stringify({ type: "line", text }));
    addLine((promptEl.textContent || "› ") + (hidden ? "" : text), "echo");
    if (!hidden && text.trim() && history[history.length - 1] !== text) {
      history.push(text);
      if (history.length > MAX_HISTORY) history.shift();
    }
    historyIndex = history.length;
    draft = "";
    input.value = "";
  });

  input.addEventListener("keydown", (event) => {
    if (hidden || (event.key !== "ArrowUp" && event.key !== "ArrowDown")) return;
    event.preventDefault();
    if (historyIndex === history.length) draft = input.value;
    historyIndex += event.key === "ArrowUp" ? -1 : 1;
    historyIndex = Math.max(0, Math.min(history.length, historyIndex));
    input.value = historyIndex === history.length ? draft : history[historyIndex];
  });

  reconnectButton.addEventListener("click", () => {
    retryDelay = RETRY_MIN;
    connect();
  });

  let resizeTimer = null;
  window.addEventListener("resize", () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(sendSize, 250);
  });

  output.addEventListener("click", () => {
    if (!window.getSelection().toString()) input.focus();
  });

  connect();
})();
