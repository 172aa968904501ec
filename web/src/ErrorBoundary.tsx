import { Alert, Button, Container } from '@mantine/core';
import { Component, type ReactNode } from 'react';

/** No failure ever shows a blank page: the error and a way back. */
export class ErrorBoundary extends Component<{ children: ReactNode }, { error?: Error }> {
  override state: { error?: Error } = {};
  static getDerivedStateFromError(error: Error) {
    return { error };
  }
  override render() {
    if (!this.state.error) return this.props.children;
    return (
      <Container size="sm" py="xl">
        <Alert color="red" title="Something went wrong" role="alert">
          {this.state.error.message}
          <div>
            <Button mt="md" onClick={() => window.location.assign('/')}>
              Back to the start
            </Button>
          </div>
        </Alert>
      </Container>
    );
  }
}
