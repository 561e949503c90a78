// The <script> build's entry: `window.OT`, as OpenTok's script defines it.
import { OT } from './index.js';

(globalThis as { OT?: unknown }).OT = OT;
