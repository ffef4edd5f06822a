import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'test-results/', 'bench/results/', 'bin/', 'types/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  // The edges build on shared/ and never on each other: a page must not pull in Node code, and a
  // Node peer must not depend on how the page is put together.
  ...[
    ['shared', ['node-peer', 'web-peer', 'signaling']],
    ['node-peer', ['web-peer', 'signaling']],
    ['web-peer', ['node-peer', 'signaling']],
    ['signaling', ['node-peer', 'web-peer']],
  ].map(([dir, banned]) => ({
    files: [`${dir}/**/*.ts`],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            // shared/ runs in browsers too: no Node built-ins.
            ...(dir === 'shared' ? [{ group: ['node:*'], message: 'shared/ runs in browsers: no Node built-ins' }] : []),
            ...banned.map((b) => ({
              regex: dir === 'shared' ? `^(\\.\\./){2,}${b}/` : `^(\\.\\./)+${b}/`,
              message: `${dir}/ may not import from ${b}/ (docs/architecture.md)`,
            })),
          ],
          ...(dir === 'shared'
            ? { paths: [/* Node-only packages */ 'fs', 'path', 'os', 'crypto', 'onnxruntime-node', 'node-datachannel', 'ws', 'undici'] }
            : {}),
        },
      ],
    },
  })),
);
