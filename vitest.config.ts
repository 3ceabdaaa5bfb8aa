import { defineConfig } from 'vitest/config';

// Unit tests only: test/kernel runs inside the VM under node:test (see test/vm/README.md).
export default defineConfig({
  test: {
    include: ['test/unit/**/*.test.ts'],
  },
});
