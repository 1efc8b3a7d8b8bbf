/*
 * vidflow live dashboard: plain JS, no build step. Connects to the WebSocket sink, shows each
 * stream's latest preview frame with the latest result of every stage drawn over it, and each
 * stream's fps / latency / drops. Protocol: docs/sinks/websocket.md.
 *
 * URL parameters: ?token=… (auth), ?ws=ws://host:port/path (connect elsewhere),
 * ?streams=a,b  ?tasks=detection,…  ?labels=person,car  ?min_score=0.5 (initial filter).
 */
(() => {
  // ---- constants ------------------------------------------------------------------------------

  /** Overlay palette (opaque, distinct). Index: track_id when present, else label_id. */
  var PALETTE = [
    '#ff3b30',
    '#34c759',
    '#0a84ff',
    '#ffcc00',
    '#ff2dff',
    '#00e5ff',
    '#ff9500',
    '#a2ff00',
    '#bf5af2',
    '#ff6482',
    '#64d2ff',
    '#30d158',
    '#ffd60a',
    '#5e5ce6',
    '#ff453a',
    '#66ffcc',
    '#e0a030',
    '#7dd3fc',
    '#f472b6',
    '#c0c0c0',
  ];
  var KEYPOINT_NAMES = [
    'nose',
    'left_eye',
    'right_eye',
    'left_ear',
    'right_ear',
    'left_shoulder',
    'right_shoulder',
    'left_elbow',
    'right_elbow',
    'left_wrist',
    'right_wrist',
    'left_hip',
    'right_hip',
    'left_knee',
    'right_knee',
    'left_ankle',
    'right_ankle',
  ];
  /** COCO person skeleton, by keypoint name. */
  var SKELETON = [
    ['left_ankle', 'left_knee'],
    ['left_knee', 'left_hip'],
    ['right_ankle', 'right_knee'],
    ['right_knee', 'right_hip'],
    ['left_hip', 'right_hip'],
    ['left_shoulder', 'left_hip'],
    ['right_shoulder', 'right_hip'],
    ['left_shoulder', 'right_shoulder'],
    ['left_shoulder', 'left_elbow'],
    ['right_shoulder', 'right_elbow'],
    ['left_elbow', 'left_wrist'],
    ['right_elbow', 'right_wrist'],
    ['left_eye', 'right_eye'],
    ['nose', 'left_eye'],
    ['nose', 'right_eye'],
    ['left_eye', 'left_ear'],
    ['right_eye', 'right_ear'],
    ['left_ear', 'left_shoulder'],
    ['right_ear', 'right_shoulder'],
  ];
  /** Drawing order of layers (lower first). */
  var TASK_ORDER = {
    semantic_segmentation: 0,
    instance_segmentation: 1,
    detection: 2,
    tracking: 3,
    keypoint_detection: 4,
    classification: 5,
    video_classification: 6,
  };
  var STALE_MS = 10000; // a stage's overlay disappears when it has not updated for this long
  var WINDOW_MS = 2000; // fps window

  // ---- small helpers --------------------------------------------------------------------------

  function isObj(x) {
    return x !== null && typeof x === 'object' && !Array.isArray(x);
  }
  function num(x, d) {
    return typeof x === 'number' && isFinite(x) ? x : d;
  }
  function hash(s) {
    var h = 0;
    for (var i = 0; i < s.length; i++) h = (h * 31 + s.charCodeAt(i)) | 0;
    return Math.abs(h);
  }
  function colorFor(key) {
    if (typeof key === 'number' && isFinite(key)) return PALETTE[Math.abs(Math.trunc(key)) % PALETTE.length];
    return PALETTE[hash(String(key)) % PALETTE.length];
  }
  /** The overlay colour of one detection/track: by track id when tracked, else by class. */
  function colorForDetection(d) {
    if (d.track_id !== undefined && d.track_id !== null) return colorFor(num(d.track_id, hash(String(d.track_id))));
    if (d.label_id !== undefined) return colorFor(d.label_id);
    return colorFor(String(d.label));
  }
  function rgb(hex) {
    var n = parseInt(hex.slice(1), 16);
    return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
  }
  function textColorOn(hex) {
    var c = rgb(hex);
    return 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2] > 140 ? '#000' : '#fff';
  }
  function pct(x) {
    return `${Math.round(num(x, 0) * 100)}%`;
  }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  // ---- RLE decoding ---------------------------------------------------------------------------

  /** COCO compressed RLE string → counts array. */
  function cocoStringToCounts(s) {
    var counts = [];
    var p = 0;
    while (p < s.length) {
      var x = 0,
        k = 0,
        more = 1,
        c = 0;
      while (more) {
        c = s.charCodeAt(p) - 48;
        x |= (c & 0x1f) << (5 * k);
        more = c & 0x20;
        p++;
        k++;
        if (!more && c & 0x10) x |= -1 << (5 * k);
      }
      if (counts.length > 2) x += counts[counts.length - 2];
      counts.push(x);
    }
    return counts;
  }

  /**
   * COCO RLE ({size:[h,w], counts}) → row-major Uint8Array(h*w) of 0/1.
   * counts alternate zeros/ones runs over column-major pixels, starting with zeros.
   */
  function decodeCocoMask(mask) {
    if (!isObj(mask) || !Array.isArray(mask.size)) return null;
    var h = mask.size[0] | 0,
      w = mask.size[1] | 0;
    if (h <= 0 || w <= 0 || h * w > 64e6) return null;
    var counts = typeof mask.counts === 'string' ? cocoStringToCounts(mask.counts) : mask.counts;
    if (!Array.isArray(counts)) return null;
    var out = new Uint8Array(h * w);
    var pos = 0,
      total = h * w;
    for (var i = 0; i < counts.length && pos < total; i++) {
      var run = counts[i] | 0;
      if (i % 2 === 1) {
        var end = Math.min(total, pos + run);
        for (var q = pos; q < end; q++) {
          var x = (q / h) | 0,
            y = q - x * h;
          out[y * w + x] = 1;
        }
      }
      pos += run;
    }
    return { h: h, w: w, data: out };
  }

  /**
   * Semantic label map, RLE over row-major pixels → Int32Array(h*w) of class ids:
   *   {format:'rle', size:[h,w], values:[id, …], counts:[run, …]}      (what the segment stage emits)
   *   {format:'rle', size:[h,w], counts:[id, run, id, run, …]}          (interleaved, no `values`)
   */
  function decodeLabelMap(map) {
    if (!isObj(map) || !Array.isArray(map.size) || !Array.isArray(map.counts)) return null;
    var h = map.size[0] | 0,
      w = map.size[1] | 0;
    if (h <= 0 || w <= 0 || h * w > 64e6) return null;
    var out = new Int32Array(h * w).fill(-1);
    var pos = 0,
      total = h * w,
      i,
      end;
    if (Array.isArray(map.values)) {
      for (i = 0; i < map.counts.length && pos < total; i++) {
        end = Math.min(total, pos + (map.counts[i] | 0));
        out.fill(map.values[i] | 0, pos, end);
        pos = end;
      }
    } else {
      for (i = 0; i + 1 < map.counts.length && pos < total; i += 2) {
        end = Math.min(total, pos + (map.counts[i + 1] | 0));
        out.fill(map.counts[i] | 0, pos, end);
        pos = end;
      }
    }
    return { h: h, w: w, data: out };
  }

  /** Cache of rendered mask canvases, keyed by the mask object (records are immutable). */
  var maskCache = new WeakMap();

  function maskCanvas(key, width, height, paint) {
    var hit = maskCache.get(key);
    if (hit) return hit;
    var c = document.createElement('canvas');
    c.width = width;
    c.height = height;
    var g = c.getContext('2d');
    var img = g.createImageData(width, height);
    paint(img.data);
    g.putImageData(img, 0, 0);
    maskCache.set(key, c);
    return c;
  }

  function instanceMaskCanvas(mask, color) {
    var m = decodeCocoMask(mask);
    if (!m) return null;
    var c = rgb(color);
    return maskCanvas(mask, m.w, m.h, (px) => {
      for (var i = 0; i < m.data.length; i++) {
        if (!m.data[i]) continue;
        px[i * 4] = c[0];
        px[i * 4 + 1] = c[1];
        px[i * 4 + 2] = c[2];
        px[i * 4 + 3] = 115;
      }
    });
  }

  var LABEL_ALPHA = 120;
  var pngPending = new WeakSet();

  /**
   * {format:'png', width, height, data: base64 8-bit grayscale PNG, pixel = class id}. Decoding is
   * asynchronous: returns null until the coloured canvas is ready, then redraws the stream.
   */
  function pngLabelMapCanvas(map, v) {
    var hit = maskCache.get(map);
    if (hit) return hit;
    if (pngPending.has(map) || typeof map.data !== 'string') return null;
    pngPending.add(map);
    var bin;
    try {
      bin = atob(map.data);
    } catch (e) {
      return null;
    }
    var bytes = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    createImageBitmap(new Blob([bytes], { type: 'image/png' }), {
      colorSpaceConversion: 'none',
      premultiplyAlpha: 'none',
    }).then(
      (bmp) => {
        var c = document.createElement('canvas');
        c.width = bmp.width;
        c.height = bmp.height;
        var g = c.getContext('2d', { willReadFrequently: true });
        g.drawImage(bmp, 0, 0);
        bmp.close();
        var img = g.getImageData(0, 0, c.width, c.height);
        var px = img.data,
          cache = {};
        for (var j = 0; j < px.length; j += 4) {
          var label = px[j];
          if (label === 0) {
            px[j + 3] = 0;
            continue;
          }
          var col = cache[label] || (cache[label] = rgb(colorFor(label)));
          px[j] = col[0];
          px[j + 1] = col[1];
          px[j + 2] = col[2];
          px[j + 3] = LABEL_ALPHA;
        }
        g.putImageData(img, 0, 0);
        maskCache.set(map, c);
        v.dirty = true;
        schedule();
      },
      () => {
        /* not a PNG: nothing to draw */
      },
    );
    return null;
  }

  function labelMapCanvas(map, v) {
    if (isObj(map) && map.format === 'png') return pngLabelMapCanvas(map, v);
    var m = decodeLabelMap(map);
    if (!m) return null;
    var cache = {};
    return maskCanvas(map, m.w, m.h, (px) => {
      for (var i = 0; i < m.data.length; i++) {
        var label = m.data[i];
        if (label <= 0) continue; // 0 = background, -1 = not covered
        var c = cache[label] || (cache[label] = rgb(colorFor(label)));
        px[i * 4] = c[0];
        px[i * 4 + 1] = c[1];
        px[i * 4 + 2] = c[2];
        px[i * 4 + 3] = LABEL_ALPHA;
      }
    });
  }

  // ---- state ----------------------------------------------------------------------------------

  var state = {
    connected: false,
    pipeline: '',
    messages: 0,
    results: 0,
    frames: 0,
    droppedClientSlow: 0,
    lastHealth: null,
    errors: [],
    streams: new Map(),
  };

  function view(streamId) {
    var v = state.streams.get(streamId);
    if (v) return v;
    var card = el('section', 'card');
    card.dataset.stream = streamId;
    var title = el('h2');
    var name = el('span', '', streamId);
    var where = el('span', 'muted', '');
    title.appendChild(name);
    title.appendChild(where);
    var canvas = el('canvas');
    canvas.width = 640;
    canvas.height = 360;
    canvas.dataset.frames = '0';
    canvas.dataset.draws = '0';
    canvas.dataset.records = '0';
    var stats = el('div', 'stats');
    var info = el('div', 'info');
    card.appendChild(title);
    card.appendChild(canvas);
    card.appendChild(stats);
    card.appendChild(info);
    var empty = document.getElementById('empty');
    if (empty) empty.remove();
    var main = document.getElementById('streams');
    var cards = Array.prototype.slice.call(main.children);
    var before = cards.find((c) => c.dataset.stream > streamId);
    main.insertBefore(card, before || null);
    v = {
      id: streamId,
      card: card,
      canvas: canvas,
      g: canvas.getContext('2d'),
      where: where,
      stats: stats,
      info: info,
      frame: null,
      frameMeta: null,
      frameSeq: 0,
      frameShownSeq: 0,
      layers: new Map(), // stage_id → { record, at }
      healthRecord: null,
      frameTimes: [],
      resultTimes: [],
      lastResultIndex: null,
      latencies: [],
      events: [],
      dirty: true,
    };
    state.streams.set(streamId, v);
    return v;
  }

  function pushTime(list, t) {
    list.push(t);
    while (list.length && list[0] < t - WINDOW_MS) list.shift();
  }
  function rate(list, now) {
    while (list.length && list[0] < now - WINDOW_MS) list.shift();
    if (list.length < 2) return list.length ? (1000 / WINDOW_MS) * list.length : 0;
    return ((list.length - 1) * 1000) / Math.max(1, list[list.length - 1] - list[0]);
  }

  // ---- messages -------------------------------------------------------------------------------

  function onRecord(r) {
    if (!isObj(r) || typeof r.stream_id !== 'string') return;
    state.results++;
    var v = view(r.stream_id);
    var now = performance.now();
    v.canvas.dataset.records = String(Number(v.canvas.dataset.records) + 1);
    if (r.frame_index !== v.lastResultIndex) {
      v.lastResultIndex = r.frame_index;
      pushTime(v.resultTimes, now);
    }
    if (typeof r.latency_ms === 'number') {
      v.latencies.push(r.latency_ms);
      if (v.latencies.length > 30) v.latencies.shift();
    }
    if (r.task === 'health') {
      v.healthRecord = r;
    } else {
      v.layers.set(String(r.stage_id || r.task), { record: r, at: now });
      if (r.task === 'tracking' && isObj(r.results) && Array.isArray(r.results.events)) {
        r.results.events.forEach((e) => {
          if (!isObj(e)) return;
          v.events.unshift(`${e.type === 'end' ? '■ end ' : '▶ start '}#${e.track_id} ${e.label || ''}`);
        });
        v.events.length = Math.min(v.events.length, 4);
      }
    }
    v.dirty = true;
    schedule();
  }

  function onFrame(buf) {
    var dv = new DataView(buf);
    if (buf.byteLength < 4) return;
    var n = dv.getUint32(0);
    if (4 + n > buf.byteLength) return;
    var header;
    try {
      header = JSON.parse(new TextDecoder().decode(new Uint8Array(buf, 4, n)));
    } catch (e) {
      return;
    }
    if (!isObj(header) || typeof header.stream_id !== 'string') return;
    state.frames++;
    var v = view(header.stream_id);
    var seq = ++v.frameSeq;
    pushTime(v.frameTimes, performance.now());
    var blob = new Blob([new Uint8Array(buf, 4 + n)], { type: header.mime || 'image/jpeg' });
    createImageBitmap(blob).then(
      (bmp) => {
        if (seq < v.frameShownSeq) {
          bmp.close();
          return;
        } // a newer frame decoded first
        if (v.frame) v.frame.close();
        v.frame = bmp;
        v.frameMeta = header;
        v.frameShownSeq = seq;
        v.canvas.dataset.frames = String(Number(v.canvas.dataset.frames) + 1);
        v.dirty = true;
        schedule();
      },
      () => {
        /* undecodable frame: keep the previous one */
      },
    );
  }

  function onHealth(h) {
    state.lastHealth = h;
    state.streams.forEach((v) => {
      v.dirty = true;
    });
    renderTotals();
    schedule();
  }

  function onText(text) {
    var msg;
    try {
      msg = JSON.parse(text);
    } catch (e) {
      return;
    }
    if (!isObj(msg)) return;
    switch (msg.type) {
      case 'result':
        onRecord(msg.record);
        break;
      case 'hello':
        state.pipeline = String(msg.pipeline || '');
        document.getElementById('pipeline').textContent = state.pipeline;
        break;
      case 'dropped':
        state.droppedClientSlow += num(msg.count, 0);
        renderTotals();
        break;
      case 'health':
        onHealth(msg);
        break;
      case 'error':
        showMessage(`server: ${msg.message}`);
        break;
      case 'subscribed':
        showMessage('');
        break;
      default:
        // A bare record (no envelope) or something newer than this page: draw what we know.
        if (typeof msg.stream_id === 'string' && msg.task) onRecord(msg);
    }
  }

  function showMessage(text) {
    var m = document.getElementById('message');
    m.textContent = text;
    m.hidden = !text;
  }

  // ---- connection -----------------------------------------------------------------------------

  var params = new URLSearchParams(location.search);
  var socket = null;
  var backoff = 500;

  function listParam(name) {
    var v = params.get(name);
    if (!v) return undefined;
    var xs = v
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    return xs.length ? xs : undefined;
  }

  function wsUrl() {
    var urlMeta = document.querySelector('meta[name="vidflow-ws-url"]');
    var configured = urlMeta?.content && urlMeta.content.indexOf('__') !== 0 ? urlMeta.content : '';
    var explicit = params.get('ws') || configured;
    var url;
    if (explicit) {
      url = new URL(explicit, location.href);
    } else {
      var meta = document.querySelector('meta[name="vidflow-ws-path"]');
      var path = meta?.content && meta.content.indexOf('__') !== 0 ? meta.content : '/ws';
      url = new URL(path, location.href);
      url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
    }
    var token = params.get('token');
    if (token && !url.searchParams.has('token')) url.searchParams.set('token', token);
    return url.toString();
  }

  function subscription() {
    var labels = document
      .getElementById('f-labels')
      .value.split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    var score = parseFloat(document.getElementById('f-score').value);
    var sub = { type: 'subscribe', frames: true, health: true };
    var streams = listParam('streams');
    var tasks = listParam('tasks');
    if (streams) sub.streams = streams;
    if (tasks) sub.tasks = tasks;
    if (labels.length) sub.labels = labels;
    if (isFinite(score) && score > 0) sub.min_score = Math.min(1, score);
    return sub;
  }

  function setStatus(s, detail) {
    state.connected = s === 'connected';
    document.body.dataset.ws = s;
    var e = document.getElementById('status');
    e.dataset.state = s;
    e.textContent = detail ? `${s} (${detail})` : s;
  }

  function connect() {
    setStatus('connecting');
    try {
      socket = new WebSocket(wsUrl());
    } catch (e) {
      setStatus('disconnected', String(e.message || e));
      return;
    }
    socket.binaryType = 'arraybuffer';
    socket.onopen = () => {
      backoff = 500;
      setStatus('connected');
      socket.send(JSON.stringify(subscription()));
    };
    socket.onmessage = (ev) => {
      state.messages++;
      if (typeof ev.data === 'string') onText(ev.data);
      else onFrame(ev.data);
    };
    socket.onclose = (ev) => {
      setStatus('disconnected', ev.code === 1006 ? 'retrying' : `code ${ev.code}, retrying`);
      setTimeout(connect, backoff);
      backoff = Math.min(backoff * 2, 10000);
    };
  }

  // ---- drawing --------------------------------------------------------------------------------

  var scheduled = false;
  function schedule() {
    if (scheduled) return;
    scheduled = true;
    requestAnimationFrame(() => {
      scheduled = false;
      state.streams.forEach((v) => {
        if (v.dirty) draw(v);
      });
    });
  }

  function drawLabel(g, text, x, y, color, fs) {
    g.font = `600 ${fs}px system-ui, sans-serif`;
    var w = g.measureText(text).width + 6,
      h = fs + 4;
    var ty = y - h < 0 ? y : y - h; // above the box, or inside when at the top edge
    g.fillStyle = color;
    g.fillRect(x, ty, w, h);
    g.fillStyle = textColorOn(color);
    g.textBaseline = 'top';
    g.fillText(text, x + 3, ty + 2);
  }

  function drawBoxes(g, items, sx, sy, lw, fs, kind) {
    items.forEach((d) => {
      if (!isObj(d) || !Array.isArray(d.box) || d.box.length < 4) return;
      var color = colorForDetection(d);
      var x1 = d.box[0] * sx,
        y1 = d.box[1] * sy,
        x2 = d.box[2] * sx,
        y2 = d.box[3] * sy;
      // dark halo first so the colour reads on any background
      g.strokeStyle = 'rgba(0,0,0,0.7)';
      g.lineWidth = lw + 2;
      g.strokeRect(x1, y1, x2 - x1, y2 - y1);
      g.strokeStyle = color;
      g.lineWidth = lw;
      g.strokeRect(x1, y1, x2 - x1, y2 - y1);
      var text = String(d.label !== undefined ? d.label : d.label_id);
      if (typeof d.score === 'number') text += ` ${pct(d.score)}`;
      if (d.track_id !== undefined && d.track_id !== null) text = `#${d.track_id} ${text}`;
      if (kind === 'tracking' && typeof d.age === 'number') text += ` ·${d.age}`;
      drawLabel(g, text, x1 - lw / 2, y1 - lw / 2, color, fs);
    });
  }

  function drawKeypoints(g, persons, sx, sy, lw) {
    persons.forEach((p) => {
      if (!isObj(p) || !Array.isArray(p.keypoints)) return;
      var byName = {};
      p.keypoints.forEach((k, i) => {
        if (!isObj(k)) return;
        var visible = k.visible === undefined ? true : Boolean(k.visible);
        if (!visible || typeof k.x !== 'number' || typeof k.y !== 'number') return;
        byName[k.name || KEYPOINT_NAMES[i]] = { x: k.x * sx, y: k.y * sy };
      });
      var color = colorForDetection(p);
      g.lineCap = 'round';
      [
        ['rgba(0,0,0,0.7)', Math.max(2, lw) + 2],
        [color, Math.max(2, lw)],
      ].forEach((pass) => {
        g.strokeStyle = pass[0];
        g.lineWidth = pass[1];
        g.beginPath();
        SKELETON.forEach((e) => {
          var a = byName[e[0]],
            b = byName[e[1]];
          if (!a || !b) return;
          g.moveTo(a.x, a.y);
          g.lineTo(b.x, b.y);
        });
        g.stroke();
      });
      g.lineCap = 'butt';
      Object.keys(byName).forEach((name) => {
        var k = byName[name];
        g.beginPath();
        g.arc(k.x, k.y, Math.max(2.5, lw * 1.2), 0, Math.PI * 2);
        g.fillStyle = name.indexOf('left') === 0 ? '#ffffff' : name.indexOf('right') === 0 ? '#ffd60a' : '#ff2dff';
        g.fill();
      });
    });
  }

  function textLines(g, lines, W, fs) {
    if (!lines.length) return;
    g.font = `600 ${fs}px system-ui, sans-serif`;
    g.textBaseline = 'top';
    var y = 4;
    lines.forEach((l) => {
      var w = g.measureText(l.text).width + 8;
      g.fillStyle = 'rgba(0,0,0,0.62)';
      g.fillRect(W - w - 4, y, w, fs + 6);
      if (l.swatch) {
        g.fillStyle = l.swatch;
        g.fillRect(W - w - 4, y, 3, fs + 6);
      }
      g.fillStyle = '#fff';
      g.fillText(l.text, W - w, y + 3);
      y += fs + 8;
    });
  }

  function draw(v) {
    v.dirty = false;
    var now = performance.now();
    var layers = [];
    v.layers.forEach((l, key) => {
      if (now - l.at > STALE_MS) {
        v.layers.delete(key);
        return;
      }
      layers.push(l.record);
    });
    layers.sort((a, b) => num(TASK_ORDER[a.task], 9) - num(TASK_ORDER[b.task], 9));
    var ref = layers[0];
    var W = v.frame ? v.frame.width : num(ref?.frame_width, 640);
    var H = v.frame ? v.frame.height : num(ref?.frame_height, 360);
    if (v.canvas.width !== W) v.canvas.width = W;
    if (v.canvas.height !== H) v.canvas.height = H;
    var g = v.g;
    if (v.frame) {
      g.drawImage(v.frame, 0, 0, W, H);
    } else {
      g.fillStyle = '#000';
      g.fillRect(0, 0, W, H);
      g.fillStyle = '#555';
      g.font = `${Math.round(H / 18)}px system-ui, sans-serif`;
      g.textBaseline = 'middle';
      g.fillText('no preview frames', W / 20, H / 2);
    }
    var lw = Math.max(2, Math.round(W / 240));
    var fs = Math.max(11, Math.round(H / 26));
    var lines = [];
    layers.forEach((r) => {
      var res = isObj(r.results) ? r.results : {};
      var sx = W / num(r.frame_width, W),
        sy = H / num(r.frame_height, H);
      var dets = Array.isArray(res.detections) ? res.detections : [];
      switch (r.task) {
        case 'semantic_segmentation': {
          var mc = res.label_map ? labelMapCanvas(res.label_map, v) : null;
          if (mc) g.drawImage(mc, 0, 0, W, H);
          var names = res.label_map && Array.isArray(res.label_map.labels) ? res.label_map.labels : null;
          if (isObj(res.class_fractions)) {
            Object.keys(res.class_fractions)
              .map((k) => [k, num(res.class_fractions[k], 0)])
              .filter((e) => e[1] > 0)
              .sort((a, b) => b[1] - a[1])
              .slice(0, 4)
              .forEach((e) => {
                var idx = names ? names.indexOf(e[0]) : -1;
                lines.push({ text: `${e[0]} ${pct(e[1])}`, swatch: idx > 0 ? colorFor(idx) : null });
              });
          }
          break;
        }
        case 'instance_segmentation':
          dets.forEach((d) => {
            if (!isObj(d) || !d.mask) return;
            var c = instanceMaskCanvas(d.mask, colorForDetection(d));
            if (c) g.drawImage(c, 0, 0, W, H);
          });
          drawBoxes(g, dets, sx, sy, lw, fs, r.task);
          break;
        case 'detection':
          drawBoxes(g, dets, sx, sy, lw, fs, r.task);
          break;
        case 'tracking':
          drawBoxes(g, Array.isArray(res.tracks) ? res.tracks : [], sx, sy, lw, fs, r.task);
          break;
        case 'keypoint_detection':
          drawBoxes(g, dets, sx, sy, Math.max(1, lw - 1), fs, r.task);
          drawKeypoints(g, dets, sx, sy, lw);
          break;
        case 'classification':
        case 'video_classification': {
          var top = Array.isArray(res.top) && isObj(res.top[0]) ? res.top[0] : null;
          if (!top) break;
          var t = `${(r.task === 'video_classification' ? 'clip: ' : '') + top.label} ${pct(top.score)}`;
          if (r.task === 'video_classification' && typeof r.pts_start === 'number' && typeof r.pts_end === 'number') {
            t += ` (${r.pts_start.toFixed(1)}–${r.pts_end.toFixed(1)} s)`;
          }
          lines.push({ text: t, swatch: colorFor(top.label_id) });
          break;
        }
        default:
          break; // unknown task: counted in stats, nothing to draw
      }
    });
    textLines(g, lines, W, fs);
    v.canvas.dataset.draws = String(Number(v.canvas.dataset.draws) + 1);
    v.canvas.dataset.frameIndex = v.frameMeta ? String(v.frameMeta.index) : '';
    v.canvas.dataset.layers = String(layers.length);
    renderStats(v, layers, now);
  }

  function renderStats(v, layers, now) {
    var fps = v.frameTimes.length ? rate(v.frameTimes, now) : rate(v.resultTimes, now);
    var lat = v.latencies.length ? v.latencies.reduce((a, b) => a + b, 0) / v.latencies.length : null;
    var drops = 0;
    var h = state.lastHealth;
    if (h && isObj(h.drops)) {
      Object.keys(h.drops).forEach((k) => {
        // counters are dropped.<where>.<reason>; <where> is the stream id for source drops
        if (k.indexOf(`dropped.${v.id}.`) === 0) drops += num(h.drops[k], 0);
      });
    }
    var sinkStream = h && isObj(h.streams) ? h.streams[v.id] : null;
    var parts = [
      ['fps', fps.toFixed(1)],
      ['latency', lat === null ? '–' : `${Math.round(lat)} ms`],
      ['drops', String(drops)],
    ];
    v.stats.textContent = '';
    parts.forEach((p) => {
      var s = el('span', p[0] === 'drops' && drops > 0 ? 'bad' : '', `${p[0]} `);
      s.appendChild(el('b', '', p[1]));
      v.stats.appendChild(s);
    });
    if (sinkStream) {
      v.stats.title =
        `sink: ${num(sinkStream.result_fps, 0)} result fps, ` + `${num(sinkStream.frames_per_s, 0)} preview fps`;
    }
    var m = v.frameMeta;
    var r = layers[0];
    v.where.textContent = m ? `#${m.index} · ${num(m.pts, 0).toFixed(2)} s` : r ? `#${r.frame_index}` : '';
    var info = [];
    if (layers.length) info.push(layers.map((l) => `${l.stage_id} (${l.task})`).join(', '));
    if (v.events.length) info.push(v.events.join('   '));
    if (v.healthRecord) info.push(`health: ${JSON.stringify(v.healthRecord.results || {}).slice(0, 120)}`);
    v.info.textContent = info.join('\n');
  }

  function renderTotals() {
    var h = state.lastHealth;
    var parts = [];
    if (h) parts.push(`${num(h.clients, 0)} client(s)`);
    parts.push(`${state.droppedClientSlow} dropped (slow)`);
    document.getElementById('totals').textContent = parts.join(' · ');
  }

  // ---- start ----------------------------------------------------------------------------------

  function start() {
    var labels = listParam('labels');
    if (labels) document.getElementById('f-labels').value = labels.join(', ');
    var ms = params.get('min_score');
    if (ms) document.getElementById('f-score').value = ms;
    document.getElementById('filter').addEventListener('submit', (ev) => {
      ev.preventDefault();
      if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(subscription()));
    });
    renderTotals();
    connect();
    // Keep rates fresh when nothing arrives.
    setInterval(() => {
      state.streams.forEach((v) => {
        v.dirty = true;
      });
      schedule();
    }, 1000);
  }

  /** For tests and the console. */
  window.vidflowDashboard = {
    state: state,
    colorFor: colorFor,
    colorForDetection: colorForDetection,
    decodeCocoMask: decodeCocoMask,
    decodeLabelMap: decodeLabelMap,
    cocoStringToCounts: cocoStringToCounts,
  };

  start();
})();
