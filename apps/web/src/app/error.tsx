'use client';
/** The last resort when a page fails in a way it did not handle itself (pages show service errors in place). */
import { useEffect } from 'react';
import { PageFailure, type PageFailureProps } from '../components/PageFailure';

export default function ErrorPage(props: PageFailureProps) {
  useEffect(() => {
    console.error(props.error);
  }, [props.error]);
  return <PageFailure {...props} title="Something went wrong" />;
}
