export { main, USAGE } from './main.js';
export { parseProjects, serveOptions } from './options.js';
