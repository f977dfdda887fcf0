/** Keeps the page up when a view fails to render: the error is shown with a way back, the rest of the page stays. */
import { Component, type ErrorInfo, type ReactNode } from 'react';

interface State {
  error: Error | null;
}

/** Renders its children, or the error of the last render with a "Try again" button. */
export class ErrorBoundary extends Component<{ children: ReactNode; what: string }, State> {
  state: State = { error: null };

  static getDerivedStateFromError(error: Error): State {
    return { error };
  }

  componentDidCatch(error: Error, info: ErrorInfo) {
    // The message is on the page; the console keeps the component stack for a bug report.
    console.warn(`initscope: ${this.props.what} failed to render`, error, info.componentStack);
  }

  render() {
    if (!this.state.error) return this.props.children;
    return (
      <div role="alert" className="notice">
        <p>
          The {this.props.what} could not be drawn: {this.state.error.message}
        </p>
        <button type="button" onClick={() => this.setState({ error: null })}>
          Try again
        </button>
      </div>
    );
  }
}
