// ONNX Runtime's side of the edge benchmark (bench/edge/README.md): times ONNX models, one
// thread, through onnxruntime-node, or writes their predictions on the Fashion-MNIST test set.
//
//   node ort_bench.mjs time MODEL.onnx BATCH SECONDS   -> one JSON line: p50/p99 microseconds
//   node ort_bench.mjs predict MODEL.onnx IMAGES.gz    -> one predicted class per line
//   node ort_bench.mjs outputs MODEL.onnx X.npy OUT.npy -> the model's outputs (float32 .npy)
import { readFileSync, writeFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import * as ort from 'onnxruntime-node';

async function session(path) {
  return ort.InferenceSession.create(path, {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
}

// Per-example input shape from the model's input metadata (all dims after the batch).
function exampleShape(s) {
  const meta = s.inputMetadata?.[0];
  if (meta && Array.isArray(meta.shape)) return meta.shape.slice(1).map(Number);
  throw new Error('cannot read the input shape of the model');
}

function feeds(s, data, batch) {
  const shape = [batch, ...exampleShape(s)];
  return { [s.inputNames[0]]: new ort.Tensor('float32', data, shape) };
}

async function time(path, batch, seconds) {
  const s = await session(path);
  const perExample = exampleShape(s).reduce((a, b) => a * b, 1);
  const data = new Float32Array(perExample * batch);
  let seed = 42;
  for (let i = 0; i < data.length; ++i) {  // fixed pseudo-random inputs in [0, 1)
    seed = (seed * 1103515245 + 12345) % 2147483648;
    data[i] = seed / 2147483648;
  }
  const f = feeds(s, data, batch);
  const warm = performance.now() + 200;
  while (performance.now() < warm) await s.run(f);
  const micros = [];
  const begin = performance.now();
  while (micros.length < 20 || performance.now() - begin < seconds * 1000) {
    const t0 = process.hrtime.bigint();
    await s.run(f);
    micros.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
  micros.sort((a, b) => a - b);
  const at = (p) => micros[Math.min(micros.length - 1, Math.floor(p * micros.length))];
  console.log(JSON.stringify({ model: path, batch, calls: micros.length, p50_us: at(0.5),
                               p99_us: at(0.99) }));
}

async function predict(path, imagesGz) {
  const s = await session(path);
  const raw = gunzipSync(readFileSync(imagesGz));
  const n = raw.readUInt32BE(4), rows = raw.readUInt32BE(8), cols = raw.readUInt32BE(12);
  const per = rows * cols, batch = 500, out = [];
  for (let start = 0; start < n; start += batch) {
    const count = Math.min(batch, n - start);
    const data = new Float32Array(count * per);
    for (let i = 0; i < count * per; ++i) data[i] = raw[16 + start * per + i] / 255;
    const result = await s.run(feeds(s, data, count));
    const logits = result[s.outputNames[0]].data;
    const classes = logits.length / count;
    for (let k = 0; k < count; ++k) {
      let best = 0;
      for (let c = 1; c < classes; ++c)
        if (logits[k * classes + c] > logits[k * classes + best]) best = c;
      out.push(best);
    }
  }
  process.stdout.write(out.join('\n') + '\n');
}

// A float32, C-order .npy file (version 1 or 2, little-endian): its shape and data.
function readNpy(path) {
  const raw = readFileSync(path);
  if (raw.toString('latin1', 1, 6) !== 'NUMPY') throw new Error(`${path}: not a .npy file`);
  const version = raw[6];
  const length = version === 1 ? raw.readUInt16LE(8) : raw.readUInt32LE(8);
  const start = version === 1 ? 10 : 12;
  const header = raw.toString('latin1', start, start + length);
  if (!header.includes("'<f4'") || header.includes("'fortran_order': True"))
    throw new Error(`${path}: needs float32 in C order`);
  const shape = header.match(/\(([^)]*)\)/)[1].split(',').filter((d) => d.trim()).map(Number);
  const bytes = raw.subarray(start + length);
  const data = new Float32Array(bytes.buffer.slice(bytes.byteOffset,
                                                   bytes.byteOffset + bytes.length));
  return { shape, data };
}

function writeNpy(path, shape, data) {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(', ')},), }`;
  header += ' '.repeat((64 - ((10 + header.length + 1) % 64)) % 64) + '\n';
  const prefix = Buffer.alloc(10);
  prefix.write('\x93NUMPY', 0, 'latin1');
  prefix[6] = 1;
  prefix.writeUInt16LE(header.length, 8);
  writeFileSync(path, Buffer.concat([prefix, Buffer.from(header, 'latin1'),
                                     Buffer.from(data.buffer, data.byteOffset, data.byteLength)]));
}

async function outputs(path, inputs, out) {
  const s = await session(path);
  const x = readNpy(inputs);
  const n = x.shape[0], per = x.data.length / n, batch = 8, parts = [];
  let classes = 0;
  for (let start = 0; start < n; start += batch) {
    const count = Math.min(batch, n - start);
    const result = await s.run(feeds(s, x.data.slice(start * per, (start + count) * per), count));
    const y = result[s.outputNames[0]].data;
    classes = y.length / count;
    parts.push(Float32Array.from(y));
  }
  const all = new Float32Array(n * classes);
  parts.reduce((at, p) => (all.set(p, at), at + p.length), 0);
  writeNpy(out, [n, classes], all);
}

const [mode, model, a, b] = process.argv.slice(2);
if (mode === 'time') await time(model, Number(a), Number(b));
else if (mode === 'predict') await predict(model, a);
else if (mode === 'outputs') await outputs(model, a, b);
else {
  console.error('usage: node ort_bench.mjs time MODEL BATCH SECONDS | predict MODEL IMAGES.gz' +
                ' | outputs MODEL X.npy OUT.npy');
  process.exit(2);
}
