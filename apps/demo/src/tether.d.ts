// The SDK comes from /sdk/tether.js (the <script> build, global `Tether`); its types from the package.
type TetherSdk = typeof import('@tether/client');

declare global {
  interface Window {
    Tether: TetherSdk;
  }
}

export {};
