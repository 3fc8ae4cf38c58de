// hotline unified inbox: countdowns, keyboard, reply helpers and live updates.
// Everything that shows data either swaps in server-rendered (escaped) page
// regions parsed with DOMParser, or sets textContent / value: never innerHTML.
(function () {
  'use strict';

  function meta(name) {
    var m = document.querySelector('meta[name="' + name + '"]');
    return m ? m.getAttribute('content') : '';
  }
  var csrf = meta('csrf-token');
  var skew = (parseInt(meta('server-now'), 10) || Date.now()) - Date.now();
  function now() { return Date.now() + skew; }
  function $(sel, root) { return (root || document).querySelector(sel); }
  function $$(sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); }

  var page = document.body.className.replace(/^page-/, '');
  var listLike = page === 'list' || page === 'queue';
  var ticketRoot = $('[data-ticket]');
  var ticketNo = ticketRoot ? ticketRoot.getAttribute('data-ticket') : '';

  // ---- countdowns and ages (same wording as the server) ----------------------
  function pad(n) { return n < 10 ? '0' + n : '' + n; }
  function human(ms) {
    var s = Math.floor(Math.abs(ms) / 1000);
    if (s < 3600) return Math.floor(s / 60) + ':' + pad(s % 60);
    var h = Math.floor(s / 3600);
    if (h < 24) return h + '小时' + Math.floor((s % 3600) / 60) + '分';
    return Math.floor(h / 24) + '天' + (h % 24) + '小时';
  }
  function age(ms) {
    var m = Math.floor(ms / 60000);
    if (m < 1) return '刚刚';
    if (m < 60) return m + '分钟';
    if (m < 1440) return Math.floor(m / 60) + '小时';
    return Math.floor(m / 1440) + '天';
  }
  function tick() {
    var t = now();
    $$('[data-deadline]').forEach(function (el) {
      var left = Date.parse(el.getAttribute('data-deadline')) - t;
      el.textContent = (left < 0 ? '超时 ' : '剩余 ') + human(left);
      el.classList.toggle('over', left < 0);
      el.classList.toggle('soon', left >= 0 && left < 60000);
      var row = el.closest('tr.row');
      if (row) row.classList.toggle('over', left < 0);
    });
    $$('[data-since]').forEach(function (el) {
      el.textContent = age(t - Date.parse(el.getAttribute('data-since')));
    });
  }
  tick();
  setInterval(tick, 1000);

  // ---- list selection ----------------------------------------------------------
  var selectedNo = sessionStorage.getItem('inbox.selected') || '';
  function rows() { return $$('#rows tr.row'); }
  function select(row, scroll) {
    rows().forEach(function (r) { r.classList.remove('selected'); r.removeAttribute('aria-selected'); });
    if (!row) return;
    row.classList.add('selected');
    row.setAttribute('aria-selected', 'true');
    selectedNo = row.getAttribute('data-no');
    sessionStorage.setItem('inbox.selected', selectedNo);
    if (scroll) row.scrollIntoView({ block: 'nearest' });
  }
  function currentRow() { return $('#rows tr.row.selected'); }
  function restoreSelection() {
    var r = selectedNo && $('#rows tr.row[data-no="' + CSS.escape(selectedNo) + '"]');
    select(r || rows()[0] || null, false);
  }
  function move(d) {
    var rs = rows();
    if (!rs.length) return;
    var i = rs.indexOf(currentRow());
    i = i < 0 ? 0 : Math.max(0, Math.min(rs.length - 1, i + d));
    select(rs[i], true);
  }
  function open(row, hash) {
    if (row) location.href = '/inbox/tickets/' + encodeURIComponent(row.getAttribute('data-no')) + (hash || '');
  }
  if (listLike) {
    restoreSelection();
    document.addEventListener('click', function (e) {
      var row = e.target.closest('#rows tr.row');
      if (!row || e.target.closest('a, button, input, select')) return;
      select(row, false);
      open(row);
    });
  }

  // ---- keyboard ----------------------------------------------------------------
  function typing(el) { return el && el.closest && el.closest('input, textarea, select, [contenteditable]'); }
  document.addEventListener('keydown', function (e) {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey) && e.target.id === 'reply-text') {
      e.preventDefault();
      var f = $('#reply-form');
      if (f.requestSubmit) f.requestSubmit(); else f.submit();
      return;
    }
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (typing(e.target)) {
      if (e.key === 'Escape') e.target.blur();
      return;
    }
    var k = e.key;
    if (k === '/') {
      var s = $('#search') || $('#kb-q');
      if (s) { e.preventDefault(); s.focus(); s.select(); }
    } else if (listLike && (k === 'j' || k === 'ArrowDown')) {
      e.preventDefault(); move(1);
    } else if (listLike && (k === 'k' || k === 'ArrowUp')) {
      e.preventDefault(); move(-1);
    } else if (listLike && (k === 'Enter' || k === 'o')) {
      e.preventDefault(); open(currentRow());
    } else if (k === 'r') {
      if (listLike) { e.preventDefault(); open(currentRow(), '#reply'); }
      else if ($('#reply-text')) { e.preventDefault(); focusReply(); }
    } else if (k === 'Escape' && page === 'ticket') {
      location.href = '/inbox';
    }
  });
  function focusReply() {
    var t = $('#reply-text');
    if (!t) return;
    t.scrollIntoView({ block: 'center' });
    t.focus();
  }

  // ---- reply box: standard replies, canned replies, knowledge base -------------
  var lastRendered = null;
  var activeTpl = null;
  function phValue(name) {
    var el = $('#ph-' + name);
    var v = el ? el.value.trim() : '';
    return v;
  }
  function render(tpl) {
    return tpl.replace(/\{(answer|unit|place|target)\}/g, function (all, name) {
      var v = phValue(name);
      if (name === 'answer') v = v.replace(/[。.]+$/, '');
      return v || all;
    });
  }
  function applyTemplate(btn) {
    var text = $('#reply-text');
    activeTpl = btn;
    $$('.tpl').forEach(function (b) { b.classList.toggle('active', b === btn); });
    $('#reply-kind').value = btn.getAttribute('data-kind');
    lastRendered = render(btn.getAttribute('data-template'));
    text.value = lastRendered;
    text.dispatchEvent(new Event('input'));
    var missing = text.value.match(/\{(answer|unit|place|target)\}/);
    if (missing) {
      var ph = $('#ph-' + missing[1]);
      if (ph) { ph.focus(); return; }
    }
    text.focus();
  }
  $$('.tpl').forEach(function (b) { b.addEventListener('click', function () { applyTemplate(b); }); });
  $$('[data-ph]').forEach(function (inp) {
    inp.addEventListener('input', function () {
      var text = $('#reply-text');
      if (activeTpl && text && text.value === lastRendered) {
        lastRendered = render(activeTpl.getAttribute('data-template'));
        text.value = lastRendered;
        text.dispatchEvent(new Event('input'));
      }
    });
  });
  $$('.can').forEach(function (b) {
    b.addEventListener('click', function () {
      var t = $('#reply-text');
      var s = b.getAttribute('data-text');
      var at = t.selectionStart != null ? t.selectionStart : t.value.length;
      t.value = t.value.slice(0, at) + s + t.value.slice(t.selectionEnd != null ? t.selectionEnd : at);
      t.focus();
      t.selectionStart = t.selectionEnd = at + s.length;
      t.dispatchEvent(new Event('input'));
    });
  });
  var replyText = $('#reply-text');
  if (replyText) {
    var count = $('#reply-count');
    var upd = function () { if (count) count.textContent = replyText.value.length + ' / 2000 字'; };
    replyText.addEventListener('input', upd);
    upd();
    if (location.hash === '#reply') setTimeout(focusReply, 0);
  }
  function useKB(answer, unit) {
    var a = $('#ph-answer'), u = $('#ph-unit');
    if (a) a.value = answer;
    if (u && unit && !u.value.trim()) u.value = unit;
    var b = $('.tpl[data-kind="answered"]');
    if (b) applyTemplate(b);
  }
  document.addEventListener('click', function (e) {
    var b = e.target.closest('.kb-use');
    if (b) useKB(b.getAttribute('data-answer'), b.getAttribute('data-unit'));
  });
  var kbForm = $('#kb-form');
  if (kbForm) {
    kbForm.addEventListener('submit', function (e) {
      e.preventDefault();
      var q = $('#kb-q').value.trim();
      var list = $('#kb-results');
      if (!q) { list.replaceChildren(); return; }
      fetch('/inbox/kb?q=' + encodeURIComponent(q), { headers: { 'X-CSRF-Token': csrf, 'Accept': 'application/json' }, credentials: 'same-origin' })
        .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
        .then(function (data) {
          list.replaceChildren();
          if (!data.hits.length) {
            var li = document.createElement('li');
            li.className = 'muted';
            li.textContent = '没有找到相关条目。';
            list.appendChild(li);
            return;
          }
          data.hits.forEach(function (h) {
            var li = document.createElement('li');
            var q = document.createElement('p'); q.className = 'q'; q.textContent = h.Question;
            var a = document.createElement('p'); a.className = 'a'; a.textContent = h.Answer;
            var m = document.createElement('p'); m.className = 'muted'; m.textContent = (h.Unit || '') + ' · 相关度 ' + h.Score + '%';
            var b = document.createElement('button');
            b.type = 'button'; b.className = 'small kb-use'; b.textContent = '插入模板 1';
            b.setAttribute('data-answer', h.Answer);
            b.setAttribute('data-unit', h.Unit || '');
            li.append(q, a, m, b);
            list.appendChild(li);
          });
        })
        .catch(function () {
          list.replaceChildren();
          var li = document.createElement('li');
          li.className = 'muted';
          li.textContent = '知识库搜索失败，请重试。';
          list.appendChild(li);
        });
    });
  }

  // ---- the handling panel ---------------------------------------------------------
  // A link to #act-escalate (the KPI dashboard's hot issues) opens that form.
  function openAction() {
    if (!/^#act-[a-z_]+$/.test(location.hash)) return;
    var d = document.getElementById(location.hash.slice(1));
    if (!d || d.tagName !== 'DETAILS') return;
    d.open = true;
    d.scrollIntoView({ block: 'start' });
    var f = $('textarea, input:not([type=hidden]), select', d);
    if (f) f.focus();
  }
  openAction();
  window.addEventListener('hashchange', openAction);
  // "添加协办单位": one more unit picker (the server reads every co_unit).
  document.addEventListener('click', function (e) {
    var b = e.target.closest('.add-co');
    if (!b) return;
    var box = b.closest('.counits');
    var all = $$('input[name=co_unit]', box);
    if (all.length >= 8) return;
    var inp = all[all.length - 1].cloneNode(false);
    inp.value = '';
    box.insertBefore(inp, b);
    inp.focus();
  });
  // A region with an open form or typed input is not replaced by a live update.
  function busy(el) {
    if ($('details[open]', el)) return true;
    return $$('input, textarea, select', el).some(function (f) {
      if (f.type === 'hidden') return false;
      if (f.type === 'checkbox' || f.type === 'radio') return f.checked !== f.defaultChecked;
      if (f.tagName === 'SELECT') return Array.prototype.some.call(f.options, function (o) { return o.selected !== o.defaultSelected; });
      return f.value !== f.defaultValue;
    });
  }

  // ---- live updates --------------------------------------------------------------
  var timeline = $('#timeline');
  function scrollTimeline() { if (timeline) timeline.scrollTop = timeline.scrollHeight; }
  scrollTimeline();

  function refreshURL() {
    if (page === 'ticket' && ticketNo) {
      var kb = $('#kb-q');
      var q = kb && kb.value.trim() ? '?kbq=' + encodeURIComponent(kb.value.trim()) : '';
      return '/inbox/tickets/' + encodeURIComponent(ticketNo) + q;
    }
    return location.pathname + location.search;
  }
  var refreshing = false, again = false, timer = null;
  function scheduleRefresh() {
    if (timer) return;
    timer = setTimeout(function () { timer = null; refresh(); }, 250);
  }
  function refresh() {
    if (refreshing) { again = true; return; }
    refreshing = true;
    var before = {};
    rows().forEach(function (r) { before[r.getAttribute('data-no')] = true; });
    var tl = $('#timeline');
    var atBottom = tl && tl.scrollTop + tl.clientHeight >= tl.scrollHeight - 8;
    fetch(refreshURL(), { headers: { 'X-CSRF-Token': csrf, 'Accept': 'text/html' }, credentials: 'same-origin', cache: 'no-store' })
      .then(function (r) {
        if (r.redirected && /\/login/.test(r.url)) { location.href = '/login'; throw new Error('signed out'); }
        if (!r.ok) throw new Error(r.status);
        return r.text();
      })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, 'text/html');
        $$('[data-live][id]').forEach(function (cur) {
          var fresh = doc.getElementById(cur.id);
          if (!fresh) return;
          var act = document.activeElement;
          if (act && act !== document.body && cur.contains(act)) return; // do not yank what the agent is using
          if (cur.id === 'handling' && busy(cur)) return;
          var keep = {};
          $$('input[type=checkbox][id]', cur).forEach(function (c) { keep[c.id] = c.checked; });
          var node = document.importNode(fresh, true);
          cur.replaceWith(node);
          Object.keys(keep).forEach(function (id) { var c = document.getElementById(id); if (c) c.checked = keep[id]; });
        });
        if (listLike) {
          restoreSelection();
          rows().forEach(function (r) { if (!before[r.getAttribute('data-no')]) r.classList.add('flash-new'); });
        }
        timeline = $('#timeline');
        if (atBottom) scrollTimeline();
        tick();
      })
      .catch(function () { /* the next event or reconnect retries */ })
      .then(function () {
        refreshing = false;
        if (again) { again = false; scheduleRefresh(); }
      });
  }

  var liveState = $('#live-state');
  function setLive(on) {
    if (!liveState) return;
    liveState.textContent = on ? '实时' : '离线';
    liveState.classList.toggle('on', on);
  }
  if (window.EventSource && (listLike || page === 'ticket' || page === 'alerts')) {
    var es = new EventSource('/inbox/events');
    var wasOpen = false, lost = false;
    es.addEventListener('open', function () {
      setLive(true);
      if (lost) scheduleRefresh(); // events may have been missed while away
      wasOpen = true; lost = false;
    });
    es.addEventListener('error', function () { setLive(false); if (wasOpen) lost = true; });
    es.addEventListener('signed_out', function () { es.close(); location.href = '/login'; });
    es.addEventListener('change', function (e) {
      var ev;
      try { ev = JSON.parse(e.data); } catch (err) { return; }
      if (ev.kind === 'resync') { scheduleRefresh(); return; }
      if (page === 'ticket') {
        if (ev.ticket_no === ticketNo) scheduleRefresh();
        return;
      }
      if (page === 'queue') {
        if (!/[?&]page=/.test(location.search)) scheduleRefresh();
        return;
      }
      if (page === 'alerts') { scheduleRefresh(); return; }
      var onPage = !!$('#rows tr.row[data-no="' + CSS.escape(ev.ticket_no || '') + '"]');
      var firstPage = !/[?&]cursor=/.test(location.search);
      if (onPage || firstPage) scheduleRefresh();
    });
    window.addEventListener('pagehide', function () { es.close(); });
  }
})();
