// Node: the package's default build, uploading a file path (read from disk by node-file.js).
import { uploadAndFollow } from './upload.ts';

const [url, token, path] = process.argv.slice(2);
const status = await uploadAndFollow({ url, token, file: path, follow: true, log: (line) => console.log(line) });
console.log(JSON.stringify({ event: 'done', status, module: import.meta.resolve('@coach/client') }));
