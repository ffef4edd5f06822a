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
  {
    files: ['shared/**/*.ts'],
    rules: {
      // shared/ runs in browsers too: no Node built-ins or Node-only packages.
      'no-restricted-imports': [
        'error',
        {
          patterns: ['node:*'],
          paths: ['fs', 'path', 'os', 'crypto', 'onnxruntime-node', 'node-datachannel', 'ws', 'undici'],
        },
      ],
    },
  },
);
