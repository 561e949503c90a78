import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// Packages meet through their public entry points only (STYLE.md: "nothing imports another package's internals").
const otherPackageFiles = {
  regex: '^(\\.\\./)+(packages/)?(auth|cli|client|protocol|server|server-sdk|testkit)/(src|dist)(/|$)',
  message: "Import the package by name (@tether/...), not another package's files.",
};

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', 'artifacts/**', '.tether/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
      'no-restricted-imports': ['error', { patterns: [otherPackageFiles] }],
    },
  },
  {
    // The server verifies with @tether/auth; the server SDK is its clients' library, not its own.
    files: ['packages/server/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            { name: '@tether/server-sdk', message: 'The server signs and verifies with @tether/auth.' },
          ],
          patterns: [otherPackageFiles],
        },
      ],
    },
  },
  {
    files: ['**/*.mjs', '**/*.js'],
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        performance: 'readonly',
        URL: 'readonly',
      },
    },
  },
);
