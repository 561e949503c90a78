export { main, USAGE } from './main.js';
export { parseProjects, serveOptions } from './options.js';
export { SyntheticMedia, weriftRtc } from './load/media.js';
